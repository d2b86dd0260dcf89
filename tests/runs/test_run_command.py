"""What the command does around a procedure, in process: one line for every
trouble with the run directory, and nothing left of a run that never started."""

import errno
import json
import os

import pytest

from lth_keras.procedures import command
from lth_keras.procedures.base import Procedure
from lth_keras.runs import layout
from lth_keras.runs.config import RunConfig


class Tiny(Procedure):
    """Two stages that write one text file each; no training."""

    name = "tiny"
    table = {"value": "d"}
    broken = None  # raised by setup, as a procedure's data loading might

    def setup(self):
        if self.broken is not None:
            raise self.broken

    def stages(self):
        return [("a",), ("b",)]

    def run_stage(self, stage):
        self.workdir.save_text(f"made by {stage[0]}", "data.txt", *stage)
        return {"value": len(stage[0])}

    def resolved(self):
        return {}


def run(path, broken=None):
    Tiny.broken = broken
    try:
        return command.run(Tiny, RunConfig(dataset="synthetic"), str(path))
    finally:
        Tiny.broken = None


def one_line(capsys):
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_a_run_writes_its_config_and_flags_once_set_up(tmp_path):
    records = run(tmp_path / "run")
    assert records == [{"value": 1}, {"value": 1}]
    saved = json.loads((tmp_path / "run" / layout.RESULTS).read_text())
    assert saved["config"]["dataset"] == "synthetic" and "files" not in saved["records"][0]
    assert all((tmp_path / "run" / name).exists() for name in (layout.CONFIG, layout.FLAGS))
    assert run(tmp_path / "run") == records  # resumed: every stage trusted


@pytest.mark.parametrize("error, line", [
    (ValueError("--dataset: bad.npz has 3 labels for 4 images"), "--dataset: bad.npz"),
    (FileNotFoundError(errno.ENOENT, "No such file or directory", "missing.npz"),
     "No such file or directory: missing.npz"),
    (OverflowError("cannot convert float infinity to integer"), "cannot convert float infinity"),
], ids=["ValueError", "OSError", "OverflowError"])
def test_a_setup_that_fails_is_one_line_and_leaves_no_directory(tmp_path, capsys, error, line):
    with pytest.raises(SystemExit) as exit:
        run(tmp_path / "run", broken=error)
    assert exit.value.code == 2
    assert f"tiny.py: error: {line}" in one_line(capsys)
    assert not (tmp_path / "run").exists()


def test_a_setup_that_fails_on_a_resumed_run_keeps_it(tmp_path, capsys):
    run(tmp_path / "run")
    with pytest.raises(SystemExit):
        run(tmp_path / "run", broken=ValueError("--dataset: bad"))
    one_line(capsys)
    assert (tmp_path / "run" / "a" / layout.RECORD).exists()


def test_a_bug_keeps_its_traceback_but_still_leaves_nothing(tmp_path):
    with pytest.raises(KeyError):
        run(tmp_path / "run", broken=KeyError("a bug"))
    assert not (tmp_path / "run").exists()


def test_a_workdir_that_is_a_file_is_one_line(tmp_path, capsys):
    (tmp_path / "file").write_text("mine")
    with pytest.raises(SystemExit):
        run(tmp_path / "file")
    assert "--workdir: " in one_line(capsys) and (tmp_path / "file").read_text() == "mine"


def test_an_unwritable_workdir_is_one_line_naming_the_flag(tmp_path, capsys, monkeypatch):
    # Root ignores permission bits, so the refusal a read-only disk gives is made here.
    real = os.open

    def read_only(path, *args, **kwargs):
        if str(path).endswith(layout.LOCK):
            raise OSError(errno.EROFS, "Read-only file system", path)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", read_only)
    with pytest.raises(SystemExit):
        run(tmp_path / "run")
    assert (f"--workdir: cannot use {tmp_path}/run: Read-only file system "
            f"({tmp_path}/run/{layout.LOCK})") in one_line(capsys)
    assert not (tmp_path / "run").exists()


def test_a_workdir_under_proc_is_one_line(capsys):
    with pytest.raises(SystemExit):
        run("/proc/lth_keras_run")
    assert "tiny.py: error: --workdir: cannot use /proc/lth_keras_run" in one_line(capsys)


def test_a_changed_stage_file_stops_the_rerun_with_one_line(tmp_path, capsys):
    run(tmp_path / "run")
    capsys.readouterr()
    (tmp_path / "run" / "b" / "data.txt").write_text("made by someone else")
    with pytest.raises(SystemExit):
        run(tmp_path / "run")
    line = one_line(capsys)
    assert (f"stage b of {tmp_path}/run: {tmp_path}/run/b/data.txt is not the file the stage "
            f"finished with") in line and f"delete {tmp_path}/run/b to redo that stage" in line
    os.remove(tmp_path / "run" / "b" / layout.RECORD)  # as the line says: b is redone
    assert run(tmp_path / "run") == [{"value": 1}, {"value": 1}]
    assert (tmp_path / "run" / "b" / "data.txt").read_text() == "made by b"


def test_a_link_met_during_the_run_is_one_line(tmp_path, capsys):
    run(tmp_path / "run")
    os.remove(tmp_path / "run" / "b" / layout.RECORD)
    os.remove(tmp_path / "run" / "b" / "data.txt")
    original = Tiny.run_stage

    def plant_then_write(self, stage):
        os.symlink(tmp_path / "outside", tmp_path / "run" / "b" / "data.txt")
        return original(self, stage)

    Tiny.run_stage = plant_then_write
    try:
        with pytest.raises(SystemExit):
            run(tmp_path / "run")
    finally:
        Tiny.run_stage = original
    assert f"{tmp_path}/run/b/data.txt is a symbolic link" in one_line(capsys)
    assert not (tmp_path / "outside").exists()
