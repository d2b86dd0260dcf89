"""Tiny runs of every command and a digest of what each leaves behind.

A refactor must not change results: the digests of these runs are pinned in
``test_pinned_results.py``. A digest covers ``results.json`` (and the report's
``report.csv``) with wall-clock and machine fields dropped and run-directory
paths replaced by their role, so two runs of one command on one machine agree.

    python tests/procedures/golden.py /tmp/golden    # prints the digests
"""

import fcntl
import hashlib
import json
import os
import re
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
IMP = ["--dataset=synthetic", "--iterations=64", "--rounds=1", "--eval_every=32"]
# (name, script, flags, depends on): {run} is this run's directory, {imp} the IMP run's.
RUNS = (
    ("imp", "imp.py", [*IMP, "--controls=reinit,shuffle,random_prune"], None),
    ("prune_at_init", "prune_at_init.py",
     ["--dataset=synthetic", "--iterations=32", "--eval_every=32", "--methods=snip,random",
      "--sparsities=0.9", "--seeds=0", "--sanity=none,reinit", "--nojit_compile"], None),
    ("layer_lottery", "layer_lottery.py",
     ["--dataset=synthetic", "--iterations=4", "--eval_every=4", "--batch_size=8",
      "--steps_per_execution=4", "--remove=1", "--criterion=snip", "--noenergy",
      "--score_examples_per_class=1"], None),
    ("instability", "instability.py",
     ["--imp_workdir={imp}", "--rewind_iterations=0,32", "--points=3"], "imp"),
    ("evaluate", "evaluate.py",
     ["--workdir={imp}", "--name=golden", "--examples=100", "--pgd_steps=2",
      "--corruptions=contrast", "--severities=1"], "imp"),
    ("report", "report.py", ["--workdirs={imp},{instability}", "--output={run}",
                             "--evaluation=golden"], "evaluate"),
    ("tfmot_baseline", "tfmot_baseline.py",
     ["--dataset=synthetic", "--iterations=64", "--eval_every=32", "--densities=0.5",
      "--pruning_frequency=16", "--nojit_compile", "--imp_workdir={imp}"], "imp"),
)
# Fields that measure the machine, not the computation.
VOLATILE = re.compile(r"time|speedup$|energy|emissions|power|process|^trial|_note$|cpu_|^files$")


def command(script, flags):
    result = subprocess.run([sys.executable, os.path.join(REPO, "experiments", script), *flags],
                            cwd=REPO, capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        raise AssertionError(f"{script} failed:\n{result.stdout}\n{result.stderr}")
    return result


def run(name, root):
    """Runs ``name`` (and what it depends on) under ``root``, once even when
    several test processes ask at the same time; returns its directory."""
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, f"{name}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _run(name, root)


def _run(name, root):
    entry = next(r for r in RUNS if r[0] == name)
    _, script, flags, depends = entry
    path = os.path.join(root, name)
    if os.path.exists(os.path.join(path, "done")):
        return path
    paths = {"run": path, "imp": os.path.join(root, "imp"),
             "instability": os.path.join(root, "instability")}
    if depends:
        run(depends, root)
        if name == "report":
            run("instability", root)
    flags = [f.format(**paths) for f in flags]
    if name not in ("evaluate", "report"):
        flags.append(f"--workdir={path}")
    command(script, flags)
    os.makedirs(path, exist_ok=True)
    open(os.path.join(path, "done"), "w").close()
    return path


def _canonical(value, roots):
    if isinstance(value, dict):
        return {k: _canonical(v, roots) for k, v in value.items() if not VOLATILE.search(k)}
    if isinstance(value, list):
        return [_canonical(v, roots) for v in value]
    if isinstance(value, str):
        for path, role in roots:
            value = value.replace(path, role)
    return value


def digest(name, root):
    """The digest of run ``name``'s results under ``root``."""
    roots = sorted(((os.path.abspath(os.path.join(root, n)), f"<{n}>") for n, *_ in RUNS),
                   key=lambda p: -len(p[0]))
    roots += [(p.replace(os.path.abspath(root), os.path.relpath(root, REPO)), r)
              for p, r in roots] + [(os.path.join(root, n), f"<{n}>") for n, *_ in RUNS]
    if name == "report":
        with open(os.path.join(root, "report", "report.csv")) as f:
            text = f.read()
    else:
        folder = os.path.join(root, "imp", "golden") if name == "evaluate" else os.path.join(root, name)
        with open(os.path.join(folder, "results.json")) as f:
            results = json.load(f)
        results.pop("procedure", None)  # which procedure wrote it: not a result
        text = json.dumps(_canonical(results, roots), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def canonical_results(name, root):
    """The canonical results of run ``name`` (for reading a digest mismatch)."""
    folder = os.path.join(root, "imp", "golden") if name == "evaluate" else os.path.join(root, name)
    with open(os.path.join(folder, "results.json")) as f:
        return _canonical(json.load(f), [(os.path.abspath(root), "<root>")])


if __name__ == "__main__":
    root = os.path.abspath(sys.argv[1])
    names = sys.argv[2:] or [n for n, *_ in RUNS]
    for n in names:
        run(n, root)
        print(f'"{n}": "{digest(n, root)}",', flush=True)
