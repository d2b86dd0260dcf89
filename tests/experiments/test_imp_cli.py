"""experiments/imp.py as a user runs it: resume after SIGKILL, refusals, bad flags."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY = ["--dataset=synthetic", "--iterations=96", "--eval_every=32", "--rounds=3",
        "--controls=reinit"]


def _imp(*args, **kwargs):
    return subprocess.run([sys.executable, f"{ROOT}/experiments/imp.py", *args],
                          capture_output=True, text=True, **kwargs)


def _without_timing(results):
    return [{k: v for k, v in r.items() if "wall_time" not in k} for r in results["rounds"]]


def test_sigkill_then_rerun_resumes_and_matches_an_uninterrupted_run(tmp_path):
    full = _imp(*TINY, f"--workdir={tmp_path}/full")
    assert full.returncode == 0, full.stderr[-2000:]

    killed = f"{tmp_path}/killed"
    proc = subprocess.Popen([sys.executable, f"{ROOT}/experiments/imp.py", *TINY,
                             f"--workdir={killed}"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while not os.path.exists(f"{killed}/round_01/record.json") and time.time() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not os.path.exists(f"{killed}/round_03/record.json")
    finished = f"{killed}/round_01/record.json"
    before = os.stat(finished).st_mtime_ns

    resumed = _imp(*TINY, f"--workdir={killed}")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "round  1       ticket" not in resumed.stdout  # not retrained
    assert os.stat(finished).st_mtime_ns == before  # never overwritten
    with open(f"{tmp_path}/full/results.json") as a, open(f"{killed}/results.json") as b:
        full_results, resumed_results = json.load(a), json.load(b)
    assert full_results["config"] == resumed_results["config"]
    assert _without_timing(full_results) == _without_timing(resumed_results)


def test_other_flags_in_the_same_workdir_are_refused(tmp_path):
    args = ["--dataset=synthetic", "--iterations=32", "--eval_every=32", "--rounds=0",
            f"--workdir={tmp_path}/run"]
    assert _imp(*args).returncode == 0
    refused = _imp(*args[:-2], "--rounds=1", args[-1])
    assert refused.returncode != 0
    assert "--rounds=0" in refused.stderr and "now 1" in refused.stderr
    # The saved flag file reruns the same run: nothing to do, nothing retrained.
    again = _imp(f"--flagfile={tmp_path}/run/flags.txt")
    assert again.returncode == 0 and "round  0" not in again.stdout


BAD_FLAGS = [
    ("--rounds=-1", "--rounds"),
    ("--prune_rate=1.5", "--prune_rate"),
    ("--model=nope", "--model"),
    ("--dataset=nope", "--dataset"),
    ("--rewind_iteration=5000", "--rewind_iteration"),
    ("--controls=nope", "--controls"),
    ("--scope=local", "--scope"),
]


@pytest.mark.parametrize("flag, named", BAD_FLAGS)
def test_bad_flags_are_named_by_validation(flag, named):
    from lth_keras.procedures.imp import ImpConfig

    name, value = flag[2:].split("=")
    field = ImpConfig.__dataclass_fields__[name]
    value = [value] if name == "controls" else field.type(value) if isinstance(field.type, type) else value
    config = ImpConfig(**{"dataset": "synthetic", "iterations": 64, name: value})
    with pytest.raises(ValueError, match=named):
        config.validate()


@pytest.mark.parametrize("flag, named", [BAD_FLAGS[0], BAD_FLAGS[4]])
def test_bad_flags_fail_in_one_line_before_any_work(tmp_path, flag, named):
    result = _imp("--dataset=synthetic", "--iterations=64", flag, f"--workdir={tmp_path}/run")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and named in lines[0], result.stderr
    assert not os.path.exists(f"{tmp_path}/run")


def test_rewind_past_the_end_of_epoch_based_training(tmp_path):
    # Only known once the data is loaded: still refused before training.
    result = _imp("--dataset=synthetic", "--epochs=1", "--rewind_iteration=4000",
                  f"--workdir={tmp_path}/run")
    assert result.returncode != 0 and "--rewind_iteration" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not os.path.exists(f"{tmp_path}/run")
