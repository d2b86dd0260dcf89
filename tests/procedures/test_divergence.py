"""A diverging run is a recorded outcome: the study completes (or stops, by
flag), every stage says what happened, and results.json is strict JSON."""

import csv
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from lth_keras.procedures.imp import IMP, ImpConfig
from lth_keras.runs import layout
from lth_keras.runs.workdir import Workdir

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Valid flags whose training diverges: a learning rate of 1e30 under plain SGD.
DIVERGING = ["--dataset=synthetic", "--iterations=64", "--eval_every=32", "--rounds=2",
             "--controls=reinit", "--optimizer=sgd", "--learning_rate=1e30"]
STAGES = [("round_00",), ("round_01",), ("round_01", "reinit"), ("round_02",),
          ("round_02", "reinit")]


def imp(workdir, *flags):
    result = subprocess.run([sys.executable, os.path.join(REPO, "experiments", "imp.py"),
                             *DIVERGING, f"--workdir={workdir}", *flags],
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def strict(path):
    """The file's JSON, refusing the NaN / Infinity tokens strict parsers refuse."""
    with open(path) as f:
        return json.loads(f.read(), parse_constant=lambda token: pytest.fail(
            f"{path} holds {token}, which is not JSON"))


def records(workdir):
    return {stage: strict(os.path.join(workdir, *stage, layout.RECORD)) for stage in STAGES
            if os.path.exists(os.path.join(workdir, *stage, layout.RECORD))}


def test_a_diverging_study_completes_records_it_and_resumes(tmp_path):
    workdir = str(tmp_path / "run")
    out = imp(workdir)
    assert "diverged at iteration 32" in out
    stages = records(workdir)
    assert list(stages) == STAGES  # every stage finished
    assert all(r["status"] in ("ok", "diverged", "skipped") for r in stages.values())
    dense = stages["round_00",]
    assert dense["status"] == "diverged"
    assert dense["diverged_at_iteration"] == 32  # the first compiled call (32 steps)
    assert dense["iterations"] == 32  # stopped at once
    assert dense["test_accuracy"] is None and dense["test_loss"] is None
    for stage in STAGES[1:]:  # a diverged ticket gives no mask: nothing after it trains
        assert stages[stage]["status"] == "skipped"
        assert "round 0 diverged at iteration 32" in stages[stage]["skipped_because"]
        assert not os.path.exists(os.path.join(workdir, *stage, layout.weights("final")))
    results = strict(os.path.join(workdir, layout.RESULTS))
    assert [r["status"] for r in results["rounds"]] == ["diverged"] + ["skipped"] * 4
    with open(os.path.join(workdir, layout.RESULTS_CSV)) as f:
        rows = list(csv.DictReader(f))
    assert rows[0]["status"] == "diverged" and rows[0]["test_accuracy"] == ""

    # A rerun resumes: nothing is trained or written again.
    before = {s: os.stat(os.path.join(workdir, *s, layout.RECORD)).st_mtime_ns for s in STAGES}
    out = imp(workdir)
    assert "diverged at iteration" not in out and "skipped:" not in out  # no stage ran
    assert before == {s: os.stat(os.path.join(workdir, *s, layout.RECORD)).st_mtime_ns
                      for s in STAGES}
    assert strict(os.path.join(workdir, layout.RESULTS))["rounds"] == results["rounds"]


def test_stop_on_divergence_stops_after_the_first_diverged_stage(tmp_path):
    workdir = str(tmp_path / "run")
    out = imp(workdir, "--stop_on_divergence")
    assert "stopped at round_00, which diverged at iteration 32" in out
    assert list(records(workdir)) == [("round_00",)]
    results = strict(os.path.join(workdir, layout.RESULTS))
    assert [(r["round"], r["status"]) for r in results["rounds"]] == [(0, "diverged")]
    assert results["config"]["stop_on_divergence"] is True
    # A rerun (in-process, the same flags) stops at the same place, training nothing.
    config = ImpConfig(dataset="synthetic", iterations=64, eval_every=32, rounds=2,
                       controls=["reinit"], optimizer="sgd", learning_rate=1e30,
                       stop_on_divergence=True)
    lines = []
    run = IMP(config, Workdir(workdir, config.to_dict()), log=lines.append)
    run.trainer.fit = lambda **_: pytest.fail("a stopped study trained again")
    assert [r["round"] for r in run.run()] == [0]
    assert any(line.startswith("stopped at round_00") for line in lines)
    assert list(records(workdir)) == [("round_00",)]


class Poison(keras.callbacks.Callback):
    """Makes every weight NaN after the first compiled call."""

    def on_train_batch_end(self, batch, logs=None):
        for v in self.model.trainable_weights:
            v.assign(np.full(v.shape, np.nan, v.dtype))


def test_a_diverged_round_keeps_its_controls_and_skips_the_later_rounds(tmp_path):
    config = ImpConfig(dataset="synthetic", iterations=64, eval_every=32, rounds=2,
                       controls=["reinit"])
    config.validate()
    run = IMP(config, Workdir(str(tmp_path / "run"), config.to_dict()), log=lambda *_: None)
    fit, calls = run.trainer.fit, []

    def poisoned_round_1_ticket(**kwargs):  # the second training: round 1's ticket
        calls.append(1)
        if len(calls) == 2:
            kwargs["callbacks"] = [*kwargs["callbacks"], Poison()]
        return fit(**kwargs)

    run.trainer.fit = poisoned_round_1_ticket
    by_stage = {(r["round"], r["control"]): r for r in run.run()}
    assert len(calls) == 3  # round 0, round 1's ticket and its control: nothing after
    assert by_stage[0, None]["status"] == "ok"
    ticket = by_stage[1, None]
    assert ticket["status"] == "diverged" and ticket["diverged_at_iteration"] == 32
    assert ticket["density"] == pytest.approx(0.8, abs=0.01)  # its mask came from round 0
    # The control's masks come from round 0's finite weights: it trains as usual.
    assert by_stage[1, "reinit"]["status"] == "ok"
    assert 0.0 <= by_stage[1, "reinit"]["test_accuracy"] <= 1.0
    for key in ((2, None), (2, "reinit")):
        assert by_stage[key]["status"] == "skipped"
        assert by_stage[key]["skipped_because"].startswith("round 1's ticket diverged at "
                                                           "iteration 32")


def test_a_pair_whose_copies_diverge_has_no_path():
    from lth_keras.analysis.instability import linear_mode_connectivity
    from lth_keras.data import load
    from lth_keras.models import build
    from lth_keras.runs.config import RunConfig
    from lth_keras.training import Trainer

    data = load("synthetic")
    config = RunConfig(dataset="synthetic", iterations=16, eval_every=8, steps_per_execution=8,
                       jit_compile=False, optimizer="sgd", learning_rate=1e30)
    model = build("lenet300_100", data.input_shape, data.num_classes, seed=0)
    start = [v.numpy() for v in model.weights]
    x, y = data.arrays("test")
    record = linear_mode_connectivity(Trainer(model, data, config), start, 0, (1, 2), x, y,
                                      points=3)
    assert record["status"] == "diverged" and record["diverged_at_iteration"] == 8
    assert record["barrier"] is None and record["errors"] is None and record["stable"] is None
    json.loads(json.dumps(record, allow_nan=False))


def test_plots_leave_out_what_was_not_measured(tmp_path):
    from lth_keras.reporting import plots

    records = [{"control": "ticket", "density": 1.0, "test_accuracy": 0.9},
               {"control": "ticket", "density": 0.8, "test_accuracy": None},  # diverged
               {"control": "reinit", "density": None, "test_accuracy": None}]  # skipped
    plots.accuracy_vs_density(records, str(tmp_path / "a.png"), group_by="control")
    rows = [{"method": "snip", "sanity": "none", "sparsity": 0.9, "test_accuracy_mean": None,
             "test_accuracy_std": None}]
    dense = {"method": "dense", "test_accuracy_mean": None, "test_accuracy_std": None}
    plots.accuracy_vs_sparsity(rows, str(tmp_path / "s.png"), reference=dense)
    pairs = [{"round": 0, "rewind_iteration": 0, "density": 1.0, "errors": None, "alphas": None}]
    plots.instability_curves(pairs, str(tmp_path / "i.png"))
    assert (tmp_path / "a.png").exists() and (tmp_path / "s.png").exists()
    assert not (tmp_path / "i.png").exists()  # no path was measured: nothing to draw
