"""experiments/prune_at_init.py as a user runs it: results, resume, bad flags."""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY = ["--dataset=synthetic", "--iterations=32", "--eval_every=32", "--methods=magnitude",
        "--sparsities=0.9", "--seeds=0", "--sanity=none,rearrange", "--nojit_compile", "--nodense"]


def _run(*args):
    return subprocess.run([sys.executable, f"{ROOT}/experiments/prune_at_init.py", *args],
                          capture_output=True, text=True)


def test_results_then_a_rerun_resumes_without_training(tmp_path):
    workdir = f"--workdir={tmp_path}/run"
    first = _run(*TINY, workdir)
    assert first.returncode == 0, first.stderr[-2000:]
    results = json.loads((tmp_path / "run/results.json").read_text())
    assert set(results) == {"procedure", "config", "cells"} and len(results["cells"]) == 2
    assert results["procedure"] == "prune_at_init"
    for cell in results["cells"]:
        assert {"method", "sparsity", "seed", "sanity", "test_accuracy", "density",
                "layer_densities"} <= set(cell)
        assert abs(cell["density"] - 0.1) < 1e-5
    assert "| magnitude | 0.9 | rearrange | 1 |" in (tmp_path / "run/summary.md").read_text()

    records = sorted((tmp_path / "run/cells").glob("*/*/*/*/record.json"))
    stamps = [r.stat().st_mtime_ns for r in records]
    again = _run(*TINY, workdir)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "seed 0" not in again.stdout  # no cell was trained again
    assert [r.stat().st_mtime_ns for r in records] == stamps
    assert json.loads((tmp_path / "run/results.json").read_text())["cells"] == results["cells"]


def test_bad_flags_fail_in_one_line_before_any_work(tmp_path):
    # Every flag's validation is tested in-process (tests/procedures/test_prune_at_init.py);
    # here the command itself: a list that does not parse, and a bad value, in one line.
    for flag, named in [("--sparsities=0.9,x", "--sparsities"), ("--methods=snip,nope", "--methods")]:
        result = _run("--dataset=synthetic", flag, f"--workdir={tmp_path}/run")
        assert result.returncode != 0
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and named in lines[0], result.stderr
        assert not os.path.exists(f"{tmp_path}/run")
