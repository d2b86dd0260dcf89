"""experiments/layer_lottery.py as a user runs it: a tiny run, a table, refusals."""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY = ["--dataset=synthetic", "--iterations=4", "--eval_every=4", "--batch_size=8",
        "--steps_per_execution=4", "--remove=1", "--criterion=random", "--nofilter_tickets",
        "--noenergy", "--score_examples_per_class=1"]


def _run(*args):
    return subprocess.run([sys.executable, f"{ROOT}/experiments/layer_lottery.py", *args],
                          capture_output=True, text=True, timeout=600)


def test_tiny_run_prints_a_table_and_writes_results(tmp_path):
    result = _run(*TINY, f"--workdir={tmp_path}/run")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "flops_reduction" in result.stdout and "layers" in result.stdout
    assert "speedup" in result.stdout and "cpu_speedup" in result.stdout
    with open(tmp_path / "run" / "results.json") as f:
        results = json.load(f)
    assert [r["ticket"] for r in results["cells"]] == ["dense", "layers"]
    assert results["config"]["criterion"] == ["random"]
    assert results["cells"][1]["removed_blocks"].count(",") == 0
    assert {"speedup", "cpu_speedup", "wall_speedup"} <= set(results["cells"][1])
    assert results["procedure"] == "layer_lottery"


def test_bad_flag_fails_in_one_line_before_any_work(tmp_path):
    bad = _run(*TINY, "--criterion=hrank", f"--workdir={tmp_path}/bad")
    assert bad.returncode == 2 and "--criterion" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    assert not os.path.exists(tmp_path / "bad")
