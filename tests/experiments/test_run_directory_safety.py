"""An IMP run directory as a hostile user meets it: planted links, two
processes at once, corrupt or swapped stage files, a lost config.json. Each
is refused in one line naming the path (and, for a stage, how to redo it)."""

import json
import os
import shutil
import subprocess
import sys

import pytest
from tiny_imp import IMP_FLAGS, REPO, command, tiny_imp  # noqa: F401  (the session fixture)

from lth_keras.procedures import PROCEDURES
from lth_keras.procedures import command as command_lib

FAST = ["--dataset=synthetic", "--iterations=32", "--eval_every=32", "--rounds=1", "--controls="]


def copy_of(run, tmp_path):
    shutil.copytree(run, tmp_path / "run", symlinks=True)
    return tmp_path / "run"


def one_line(stderr):
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


def snapshot(folder):
    """Every file and folder below ``folder``, with each file's bytes and mtime."""
    out = {}
    for root, dirs, names in os.walk(folder):
        out.update({os.path.join(root, d): None for d in dirs})
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                out[path] = (f.read(), os.stat(path).st_mtime_ns)
    return out


def test_links_planted_at_every_name_change_nothing_outside(tiny_imp, tmp_path):
    run = copy_of(tiny_imp, tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    reinit = run / "round_01" / "reinit"
    os.remove(reinit / "record.json")  # unfinished: a rerun would write into it
    os.remove(run / "flags.txt")
    planted = {run / "flags.txt": None}  # dangling: a write would create its target
    for path in (run / "results.json", run / "results.csv", reinit / "final.weights.h5",
                 reinit / "masks.npz", run / "round_01" / "final.weights.h5",
                 # The fixed temporary names writers once used.
                 reinit / "tmp_final.weights.h5", reinit / "tmp_masks.npz",
                 reinit / "record.json.tmp", run / "results.json.tmp"):
        (outside / path.name).write_bytes(b"precious " + path.name.encode())
        if path.exists():
            os.remove(path)
        planted[path] = outside / path.name
    # The lock, and a stage's TensorBoard folder, as links too.
    (outside / "lock").write_text("precious lock")
    os.remove(run / "lth_keras.lock")
    planted[run / "lth_keras.lock"] = outside / "lock"
    (outside / "events").mkdir()
    shutil.rmtree(run / "tensorboard" / "round_01_reinit")
    planted[run / "tensorboard" / "round_01_reinit"] = outside / "events"
    for link, target in planted.items():
        os.symlink(target or outside / "created_through_link", link)
    before = snapshot(outside)

    result = command("imp.py", *IMP_FLAGS, f"--workdir={run}", check=False)
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert line.endswith("is a symbolic link; lth_keras never follows links inside a run "
                         "directory; remove it.")
    assert any(f"imp.py: error: {link} is" in line for link in planted), line
    assert snapshot(outside) == before and all(os.path.islink(link) for link in planted)


def test_two_processes_on_one_fresh_workdir_exactly_one_trains(tmp_path):
    argv = [sys.executable, os.path.join(REPO, "experiments", "imp.py"), *FAST,
            f"--workdir={tmp_path}/run"]
    procs = [subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=300) for p in procs]
    outcomes = [(p.pid, p.returncode, out, err) for p, (out, err) in zip(procs, outputs)]
    trained = [o for o in outcomes if "ticket: density" in o[2]]
    refused = [o for o in outcomes if o not in trained]
    assert len(trained) == 1 and trained[0][1] == 0, outcomes
    (_, code, out, err), = refused
    assert code == 2 and "ticket" not in out
    assert one_line(err) == (f"imp.py: error: --workdir: {tmp_path}/run is in use by another "
                             f"lth_keras process (pid {trained[0][0]}); wait for it to end, "
                             "or use another --workdir.")
    assert json.loads((tmp_path / "run" / "results.json").read_text())["rounds"]


# Stage files, in process (the command's line without a TensorFlow start-up each) ----

def rerun(run, flags_of, capsys):
    """command.run of IMP on ``run`` with the flags of run directory ``flags_of``;
    the one line it printed."""
    imp = PROCEDURES.get("imp")
    with open(os.path.join(flags_of, "config.json")) as f:
        config = imp.config_class(**json.load(f))
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit:
        command_lib.run(imp, config, str(run))
    assert exit.value.code == 2
    return one_line(capsys.readouterr().err)


def _swap(run):
    shutil.copy(run / "round_00" / "masks.npz", run / "round_01" / "masks.npz")


def _truncate(relative):
    def truncate(run):
        data = (run / relative).read_bytes()
        (run / relative).write_bytes(data[: len(data) // 2])
    return truncate


CORRUPTIONS = [
    ("swapped_masks", _swap, "stage round_01 of {run}: {run}/round_01/masks.npz is not the file "
                             "the stage finished with"),
    ("truncated_masks", _truncate("round_01/masks.npz"), "{run}/round_01/masks.npz is not the"),
    ("truncated_weights", _truncate("round_01/reinit/final.weights.h5"),
     "stage round_01/reinit of {run}: {run}/round_01/reinit/final.weights.h5 is not the file"),
    ("garbage_record", lambda run: (run / "round_00" / "record.json").write_text("{x"),
     "{run}/round_00/record.json cannot be read (JSONDecodeError"),
    ("config_list", lambda run: (run / "config.json").write_text("[1]"),
     "--workdir: {run}/config.json holds a list, not a run configuration"),
    ("no_config", lambda run: os.remove(run / "config.json"),
     "--workdir: {run} holds stages but no config.json: not a run lth_keras can resume"),
]


@pytest.mark.parametrize("change, expected", [c[1:] for c in CORRUPTIONS],
                         ids=[c[0] for c in CORRUPTIONS])
def test_a_corrupt_or_foreign_stage_is_named_with_how_to_redo_it(tiny_imp, tmp_path, capsys,
                                                                 change, expected):
    run = copy_of(tiny_imp, tmp_path)
    results = (run / "results.json").read_bytes()
    change(run)
    line = rerun(run, tiny_imp, capsys)
    assert expected.format(run=run) in line, line
    if expected.startswith("stage") or "record.json" in expected:
        assert line.endswith("to redo that stage."), line
    assert (run / "results.json").read_bytes() == results  # nothing rewritten from bad stages


def test_an_unreadable_file_of_a_stage_without_digests_is_named(tiny_imp, tmp_path, capsys):
    run = copy_of(tiny_imp, tmp_path)
    record = json.loads((run / "round_00" / "record.json").read_text())
    del record["files"]  # as stages finished before records held digests
    (run / "round_00" / "record.json").write_text(json.dumps(record))
    shutil.rmtree(run / "round_01")  # redone: it loads round 0's masks
    _truncate("round_00/masks.npz")(run)
    line = rerun(run, tiny_imp, capsys)
    assert (f"stage round_00 of {run}: {run}/round_00/masks.npz cannot be read (BadZipFile"
            in line and line.endswith(f"delete {run}/round_00 to redo that stage.")), line
