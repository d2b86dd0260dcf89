"""Runs many bad command lines of one experiment command in one process.

    python tests/experiments/bad_input_runner.py CASES.json RESULTS.json

CASES.json: ``{"command": "imp", "fixtures": DIR, "scratch": DIR, "cases":
[{"name": ..., "args": [...]}, ...]}``. Each case runs as ``python
experiments/<command>.py <args>`` would, but without starting Python and
TensorFlow again (about 6 s each): the script is imported once, and per case
absl's flags are parsed anew and ``main`` is called. File descriptors 1 and 2
are captured per case (TensorFlow's C++ logs included); each case runs in its
own empty directory ``{scratch}/<i>`` (its current directory, where a default
run directory would appear), ``{tmp}`` in its arguments. RESULTS.json gets,
per case: the exit status, stdout, stderr, seconds, and every path that was
created under the case's directory or changed under ``{fixtures}``.
"""

import importlib.util
import json
import os
import sys
import tempfile
import time
import traceback

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXPERIMENTS = os.path.join(REPO, "experiments")


def import_command(command):
    """``experiments/<command>.py`` as a module, after ``_startup`` (as run)."""
    sys.path.insert(0, EXPERIMENTS)
    import _startup  # noqa: F401  (first, as every script does)

    spec = importlib.util.spec_from_file_location(f"experiment_{command}",
                                                  os.path.join(EXPERIMENTS, f"{command}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tree(root):
    """``{relative path: (size, mtime_ns)}`` of everything under ``root``."""
    out = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(folder, name)
            stat = os.lstat(path)
            out[os.path.relpath(path, root)] = (stat.st_size, stat.st_mtime_ns)
    return out


def run_case(main, program, args):
    """Parses ``args`` as the flags and calls ``main``: (exit status, stdout, stderr)."""
    from absl import flags

    saved = os.dup(1), os.dup(2)
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        try:
            flags.FLAGS.unparse_flags()
            try:
                flags.FLAGS([program, *args])
            except flags.Error as error:  # what absl.app prints, and its status
                print(f"FATAL Flags parsing error: {error}", file=sys.stderr)
                code = 1
            else:
                main([program])
                code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
            if not isinstance(exit_.code, (int, type(None))):
                print(exit_.code, file=sys.stderr)
        except BaseException:  # a traceback, as Python would print it
            traceback.print_exc()
            code = 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
        out.seek(0)
        err.seek(0)
        return code, out.read(), err.read()


def main(cases_path, results_path):
    with open(cases_path) as f:
        spec = json.load(f)
    began = time.perf_counter()
    module = import_command(spec["command"])
    import_seconds = time.perf_counter() - began
    fixtures, results = spec["fixtures"], []
    for i, case in enumerate(spec["cases"]):
        here = os.path.join(spec["scratch"], str(i))
        os.makedirs(here)
        args = [a.format(tmp=here, fixtures=fixtures) for a in case["args"]]
        before = tree(fixtures)
        os.chdir(here)
        began = time.perf_counter()
        code, out, err = run_case(module.main, f"{spec['command']}.py", args)
        seconds = time.perf_counter() - began
        os.chdir(REPO)
        after = tree(fixtures)
        left = sorted(tree(here)) + sorted(
            f"{{fixtures}}/{p}" for p in set(before) ^ set(after)
            | {p for p in before if p in after and before[p] != after[p]})
        results.append({"name": case["name"], "args": args, "code": code, "stdout": out,
                        "stderr": err, "seconds": seconds, "left": left})
    with open(results_path, "w") as f:
        json.dump({"import_seconds": import_seconds, "results": results}, f, indent=1)


if __name__ == "__main__":
    main(*sys.argv[1:])
