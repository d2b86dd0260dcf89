"""Run directories, in process: fresh temporary files, no link followed, one
writer, config.json only once committed, and stages checked against digests."""

import json
import os
import subprocess
import sys
import tempfile

import keras
import numpy as np
import pytest

from lth_keras.runs import files, layout
from lth_keras.runs.results import write_results
from lth_keras.runs.workdir import (ConfigMismatchError, StageError, UnsafeLinkError, Workdir,
                                    WorkdirBusyError)

CONFIG = {"model": "lenet300_100", "seed": 0}
MASKS = {"dense/kernel": np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])}


def model(units=2):
    return keras.Sequential([keras.Input((3,)), keras.layers.Dense(units, name="dense")])


def finished_stage(path, parts=("round_01",)):
    """A run directory with one finished stage: weights, masks, arrays."""
    workdir = Workdir(path, CONFIG)
    workdir.save_weights(model(), "final", *parts)
    workdir.save_masks(MASKS, *parts)
    workdir.save_arrays([np.arange(3)], "state", *parts)
    workdir.save_json({"a": 1}, "extra.json", *parts)
    workdir.stage(*parts, "control")  # a sub-stage: not a file of this stage
    workdir.finish({"round": 1}, *parts)
    return workdir


def temporaries(root):
    return [os.path.join(d, n) for d, dirs, names in os.walk(root) for n in dirs + names
            if n.startswith(layout.TEMPORARY_PREFIX)]


# Temporary files ------------------------------------------------------------

def test_every_write_goes_through_a_fresh_temporary_file_beside_its_target(tmp_path, monkeypatch):
    made = []
    real = tempfile.mkstemp

    def spy(**kwargs):
        made.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", spy)
    run = str(tmp_path / "run")
    finished_stage(run).save_text("text", layout.FLAGS)
    write_results(run, CONFIG, [{"round": 1}], "rounds")
    stage = os.path.join(run, "round_01")
    assert [(k["dir"], k["suffix"]) for k in made] == [
        (run, ".json"), (stage, ".weights.h5"), (stage, ".npz"), (stage, ".npz"),
        (stage, ".json"), (stage, ".json"), (run, ".txt"), (run, ".json"), (run, ".csv")]
    assert all(k["prefix"] == layout.TEMPORARY_PREFIX for k in made)
    assert temporaries(run) == []
    umask = os.umask(0)
    os.umask(umask)
    # As open() would make them, not mkstemp's private 0600.
    assert os.stat(os.path.join(stage, layout.MASKS)).st_mode & 0o777 == 0o666 & ~umask


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "results.json"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with files.replacing(str(target)) as tmp:
            open(tmp, "w").write("half")
            raise RuntimeError("killed")
    assert target.read_text() == "old" and temporaries(tmp_path) == []


# Links ----------------------------------------------------------------------

def _write_weights(w):
    w.save_weights(model(), "final", "round_01")


# (link's path in the run, what writes it): every name a run directory writes.
WRITERS = [
    ("round_01/final.weights.h5", _write_weights),
    ("round_01/masks.npz", lambda w: w.save_masks(MASKS, "round_01")),
    ("round_01/state.npz", lambda w: w.save_arrays([np.ones(2)], "state", "round_01")),
    ("round_01/record.json", lambda w: w.finish({"round": 1}, "round_01")),
    ("round_01/extra.json", lambda w: w.save_json({}, "extra.json", "round_01")),
    ("flags.txt", lambda w: w.save_text("--seed=0", layout.FLAGS)),
    ("config.json", lambda w: w.commit()),
    ("results.json", lambda w: write_results(w.path, CONFIG, [], "rounds")),
    ("results.csv", lambda w: write_results(w.path, CONFIG, [], "rounds")),
    ("round_01", lambda w: w.stage("round_01", "reinit")),
    ("tensorboard", lambda w: w.stage(layout.TENSORBOARD, "round_01")),
]


@pytest.mark.parametrize("name, write", WRITERS, ids=[n for n, _ in WRITERS])
@pytest.mark.parametrize("dangling", [False, True], ids=["to_a_file", "dangling"])
def test_a_link_planted_while_a_run_is_open_is_refused_never_followed(tmp_path, name, write,
                                                                      dangling):
    outside = tmp_path / "outside"
    outside.mkdir()
    target = outside / "victim"
    if not dangling:
        target.mkdir() if "." not in name else target.write_text("precious")
    workdir = Workdir(str(tmp_path / "run"), CONFIG, commit=False)
    link = tmp_path / "run" / name
    link.parent.mkdir(exist_ok=True)
    os.symlink(target, link)
    with pytest.raises(UnsafeLinkError, match=f"{link} is a symbolic link; lth_keras never "
                                              "follows links"):
        write(workdir)
    assert sorted(os.listdir(outside)) == ([] if dangling else ["victim"])
    if not dangling and "." in name:
        assert target.read_text() == "precious"
    assert os.path.islink(link) and temporaries(tmp_path) == []


@pytest.mark.parametrize("name", ["flags.txt", "round_01", "round_01/tmp_masks.npz",
                                  "round_01/record.json.tmp", "results.json.tmp",
                                  "tensorboard/round_01", layout.LOCK])
def test_a_run_directory_holding_a_link_is_refused_when_opened(tmp_path, name):
    run = tmp_path / "run"
    finished_stage(str(run)).close()
    if (run / name).exists():
        os.rename(run / name, tmp_path / "moved")
    (run / name).parent.mkdir(parents=True, exist_ok=True)
    os.symlink(tmp_path / "nowhere", run / name)
    with pytest.raises(UnsafeLinkError, match=str(run / name)):
        Workdir(str(run), CONFIG)
    with pytest.raises(UnsafeLinkError, match=str(run / name)):
        Workdir.existing(str(run), "imp_workdir")
    assert not os.path.exists(tmp_path / "nowhere")


def test_reads_refuse_links_too_but_the_run_directory_itself_may_be_one(tmp_path):
    real = tmp_path / "real"
    finished_stage(str(real)).close()
    os.symlink(real, tmp_path / "chosen")
    workdir = Workdir(str(tmp_path / "chosen"), CONFIG)  # the user's own link: fine
    assert workdir.finished("round_01")
    os.rename(real / "round_01" / "masks.npz", tmp_path / "masks.npz")
    os.symlink(tmp_path / "masks.npz", real / "round_01" / "masks.npz")
    with pytest.raises(UnsafeLinkError, match="masks.npz is a symbolic link"):
        workdir.load_masks("round_01")


def test_a_hard_linked_lock_file_is_refused(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "precious").write_text("keep")
    os.link(tmp_path / "precious", tmp_path / "run" / layout.LOCK)
    with pytest.raises(ValueError, match="not a lock file lth_keras made"):
        Workdir(str(tmp_path / "run"), CONFIG)
    assert (tmp_path / "precious").read_text() == "keep"


# One writer -----------------------------------------------------------------

HOLDER = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
os.write(fd, str(os.getpid()).encode())
print("held", flush=True)
time.sleep(60)
"""
PROBE = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
"""


def test_a_second_process_is_refused_at_once_naming_the_holder(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(run / layout.LOCK)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        with pytest.raises(WorkdirBusyError, match=f"--workdir: {run} is in use by another "
                                                   f"lth_keras process \\(pid {holder.pid}\\)"):
            Workdir(str(run), CONFIG)
    finally:
        holder.kill()
        holder.wait()
    assert os.listdir(run) == [layout.LOCK]  # neither config.json nor removal
    with Workdir(str(run), CONFIG):  # the lock went with its holder
        assert (run / layout.LOCK).read_text() == f"{os.getpid()}\n"


def test_the_lock_is_held_while_any_workdir_of_this_process_is_open(tmp_path):
    run = str(tmp_path / "run")
    probe = [sys.executable, "-c", PROBE, os.path.join(run, layout.LOCK)]
    first = Workdir(run, CONFIG)
    second = Workdir(run, CONFIG)  # the same process: shared, not refused
    first.close()
    assert subprocess.run(probe, capture_output=True).returncode != 0
    second.close()
    assert subprocess.run(probe, capture_output=True).returncode == 0


def test_a_directory_this_process_made_but_another_locked_first_is_kept(tmp_path, monkeypatch):
    def busy(path):  # another process took the lock between our mkdir and our flock
        open(os.path.join(path, layout.LOCK), "w").close()
        raise WorkdirBusyError("--workdir: in use")

    monkeypatch.setattr(files, "hold", busy)
    with pytest.raises(WorkdirBusyError):
        Workdir(str(tmp_path / "run"), CONFIG)
    assert os.path.isdir(tmp_path / "run")  # the lock holder's, not ours to remove


# config.json ----------------------------------------------------------------

def test_config_is_written_only_when_committed(tmp_path):
    run = tmp_path / "run"
    workdir = Workdir(str(run), CONFIG, commit=False)
    assert not (run / layout.CONFIG).exists() and workdir.created
    workdir.commit()
    assert json.loads((run / layout.CONFIG).read_text()) == CONFIG
    workdir.close()
    with pytest.raises(ConfigMismatchError, match="--seed=0 \\(now 1\\)"):
        Workdir(str(run), {**CONFIG, "seed": 1})
    again = Workdir(str(run), CONFIG, commit=False)
    assert not again.created
    again.discard()  # not made by this one: kept
    assert (run / layout.CONFIG).exists()
    fresh = Workdir(str(tmp_path / "fresh"), CONFIG, commit=False)
    fresh.discard()
    assert not (tmp_path / "fresh").exists()


@pytest.mark.parametrize("content, message", [
    ("[1, 2]", "config.json holds a list, not a run configuration"),
    ("{not json", "config.json is not valid JSON"),
])
def test_a_config_that_is_not_a_configuration_is_refused(tmp_path, content, message):
    finished_stage(str(tmp_path / "run")).close()
    (tmp_path / "run" / layout.CONFIG).write_text(content)
    with pytest.raises(ValueError, match=f"--workdir: .*{message}"):
        Workdir(str(tmp_path / "run"), CONFIG)
    with pytest.raises(ValueError, match=f"--imp_workdir: .*{message}"):
        Workdir.existing(str(tmp_path / "run"), "imp_workdir")


def test_stages_without_config_are_refused_but_other_files_are_not(tmp_path):
    finished_stage(str(tmp_path / "run")).close()
    os.remove(tmp_path / "run" / layout.CONFIG)
    with pytest.raises(ValueError, match="holds stages but no config.json: not a run lth_keras "
                                         "can resume; use another --workdir"):
        Workdir(str(tmp_path / "run"), CONFIG)
    other = tmp_path / "other"
    (other / layout.TENSORBOARD / "rounds").mkdir(parents=True)
    (other / "notes.txt").write_text("mine")
    Workdir(str(other), CONFIG).close()
    assert (other / layout.CONFIG).exists()


def test_a_workdir_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="--workdir: .*file is not a directory"):
        Workdir(str(tmp_path / "file"), CONFIG)


# Digests --------------------------------------------------------------------

def test_a_stage_record_holds_the_digest_of_each_file_of_its_folder(tmp_path):
    workdir = finished_stage(str(tmp_path / "run"))
    stage = tmp_path / "run" / "round_01"
    saved = json.loads((stage / layout.RECORD).read_text())
    assert sorted(saved["files"]) == ["extra.json", "final.weights.h5", "masks.npz", "state.npz"]
    assert saved["files"]["masks.npz"] == files.sha256(str(stage / "masks.npz"))
    assert workdir.record("round_01") == {"round": 1}  # the digests stay the workdir's


def test_a_finished_stage_hashes_each_file_once_however_often_it_is_trusted(tmp_path, monkeypatch):
    import hashlib
    calls = []
    real = hashlib.sha256
    monkeypatch.setattr(hashlib, "sha256", lambda *a: calls.append(1) or real(*a))
    workdir = finished_stage(str(tmp_path / "run"))
    for _ in range(3):
        assert workdir.finished("round_01") and workdir.record("round_01")
        workdir.load_masks("round_01")
        workdir.load_weights(model(), "final", "round_01")
    assert len(calls) == 4


def _swap_masks(stage):
    np.savez_compressed(stage / "masks.npz", **{"dense/kernel": np.ones((3, 2), bool)})


def _truncate(name):
    def truncate(stage):
        data = (stage / name).read_bytes()
        (stage / name).write_bytes(data[: len(data) // 2])
    return truncate


@pytest.mark.parametrize("change, name, what", [
    (_swap_masks, "masks.npz", "is not the file the stage finished with"),
    (_truncate("masks.npz"), "masks.npz", "is not the file the stage finished with"),
    (_truncate("final.weights.h5"), "final.weights.h5", "is not the file the stage finished"),
    (lambda stage: os.remove(stage / "state.npz"), "state.npz", "is missing"),
    (lambda stage: (stage / "record.json").write_text("{garbage"), "record.json",
     "cannot be read \\(JSONDecodeError"),
    (lambda stage: (stage / "record.json").write_text("[1]"), "record.json",
     "holds a list, not a stage record"),
], ids=["swapped_masks", "truncated_masks", "truncated_weights", "missing", "garbage_record",
        "record_list"])
def test_a_changed_stage_is_named_with_how_to_redo_it(tmp_path, change, name, what):
    finished_stage(str(tmp_path / "run")).close()
    stage = tmp_path / "run" / "round_01"
    change(stage)
    expected = (f"stage round_01 of {tmp_path}/run: {stage}/{name} {what}.*; "
                f"delete {stage} to redo that stage.")
    for workdir in (Workdir(str(tmp_path / "run"), CONFIG),
                    Workdir.existing(str(tmp_path / "run"), "imp_workdir")):
        for trust in (workdir.finished, workdir.record, workdir.load_masks):
            with pytest.raises(StageError, match=expected):
                trust("round_01")


def _old_style(stage):
    record = json.loads((stage / "record.json").read_text())
    del record["files"]
    (stage / "record.json").write_text(json.dumps(record))


@pytest.mark.parametrize("name, load, error", [
    ("masks.npz", lambda w: w.load_masks("round_01"), "BadZipFile"),
    ("final.weights.h5", lambda w: w.load_weights(model(), "final", "round_01"), "OSError"),
    ("state.npz", lambda w: w.load_arrays("state", "round_01"), "BadZipFile"),
    ("extra.json", lambda w: w.load_json("extra.json", "round_01"), "JSONDecodeError"),
])
def test_a_corrupt_file_of_a_stage_without_digests_is_named_not_a_traceback(tmp_path, name,
                                                                             load, error):
    workdir = finished_stage(str(tmp_path / "run"))
    stage = tmp_path / "run" / "round_01"
    _old_style(stage)  # finished before records held digests: trusted as before
    assert workdir.finished("round_01") and workdir.record("round_01") == {"round": 1}
    _truncate(name)(stage)
    with pytest.raises(StageError, match=f"round_01/{name} cannot be read \\({error}.*delete "
                                         f"{stage} to redo that stage"):
        load(workdir)


def test_weights_of_another_shape_stay_a_value_error(tmp_path):
    # Evaluation skips a physically smaller network by this ValueError.
    workdir = finished_stage(str(tmp_path / "run"))
    with pytest.raises(ValueError) as raised:
        workdir.load_weights(model(units=5), "final", "round_01")
    assert not isinstance(raised.value, StageError)


def test_finishing_drops_leftover_temporaries_and_never_hashes_them(tmp_path):
    workdir = Workdir(str(tmp_path / "run"), CONFIG)
    stage = tmp_path / "run" / "round_00"
    workdir.save_masks(MASKS, "round_00")
    (stage / f"{layout.TEMPORARY_PREFIX}killed.npz").write_bytes(b"half")
    workdir.finish({"round": 0}, "round_00")
    assert sorted(os.listdir(stage)) == ["masks.npz", "record.json"]
    assert workdir.finished("round_00")


def test_a_failed_write_names_the_file_it_was_writing(tmp_path):
    # h5py's OSErrors name no file; the command turns a named one into a --workdir line.
    with pytest.raises(OSError) as raised:
        with files.replacing(str(tmp_path / "final.weights.h5")):
            raise OSError("Unable to synchronously create file (disk full)")
    assert raised.value.filename == str(tmp_path / "final.weights.h5")
    assert raised.value.strerror == "Unable to synchronously create file (disk full)"


def test_opening_a_run_clears_the_temporaries_a_killed_process_left(tmp_path):
    finished_stage(str(tmp_path / "run")).close()
    (tmp_path / "run" / f"{layout.TEMPORARY_PREFIX}results.json").write_text("half")
    (tmp_path / "run" / f"{layout.TEMPORARY_PREFIX}figures").mkdir()
    Workdir(str(tmp_path / "run"), CONFIG).close()
    assert temporaries(tmp_path / "run") == []
