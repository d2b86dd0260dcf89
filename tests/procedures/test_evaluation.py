"""Evaluating the saved models of a run directory, in process."""
import dataclasses
import os

import keras
import numpy as np
import pytest

from lth_keras.analysis.distance import learning_distance
from lth_keras.analysis.predict import accuracy
from lth_keras.data import load
from lth_keras.models import build
from lth_keras.procedures import command
from lth_keras.procedures.evaluation import Evaluation, EvaluationConfig, saved_models
from lth_keras.pruning import get_masks, prune
from lth_keras.runs.workdir import ConfigMismatchError, Workdir

SMALL = dict(examples=60, batch_size=32, pgd_steps=2, pgd_step_size=0.05,
             corruptions=["contrast", "gaussian_noise"], severities=[1, 5])


def evaluate(config, run, log=lambda *_: None):
    """The evaluation of ``run`` into ``<run>/<--name>``, as the command opens it."""
    return Evaluation(config, Workdir(Evaluation.run_path(config, run), config.to_dict()), log=log)


@pytest.fixture
def run(tmp_path):
    """A run directory by hand: a dense stage and a pruned one, as IMP saves them."""
    path = str(tmp_path / "run")
    workdir = Workdir(path, {"model": "lenet300_100", "dataset": "synthetic", "seed": 0,
                             "data_dir": ""})
    model = build("lenet300_100", (28, 28, 1), 10, seed=0)
    rng = np.random.default_rng(0)
    for stage, control, amount in (("round_00", None, None), ("round_01", None, 0.5)):
        if amount:
            prune(model, amount)
        workdir.save_weights(model, "initial", stage)
        for var in model.trainable_weights:
            var.assign(var.numpy() + 0.01 * rng.normal(size=var.shape))
        workdir.save_masks(get_masks(model), stage)
        workdir.save_weights(model, "final", stage)
        workdir.finish({"round": int(stage[-1]), "control": control, "test_accuracy": 0.1,
                        "layer_densities": {}}, stage)
    os.makedirs(os.path.join(path, "tensorboard", "x"))
    return path


def test_every_saved_model_is_evaluated_into_its_own_folder(run):
    config = EvaluationConfig(**SMALL)
    evaluation = evaluate(config, run)
    assert evaluation.stages() == [("round_00",), ("round_01",)]
    records = evaluation.run()
    assert [r["stage"] for r in records] == ["round_00", "round_01"]
    dense, ticket = records
    assert dense["density"] == 1.0 and ticket["density"] == pytest.approx(0.5, abs=0.01)
    assert ticket["compression_ratio"] > 1.5 and ticket["theoretical_speedup"] > 1.5
    assert ticket["source"] == {"round": 1, "control": None, "test_accuracy": 0.1}
    assert ticket["round"] == 1 and ticket["control"] is None
    x, y = load("synthetic").arrays("test")
    model = evaluation.network  # holds the last stage evaluated: round_01
    assert ticket["clean_accuracy"] == pytest.approx(accuracy(model, x[:60], y[:60]))
    assert set(ticket["corruption_accuracies"]) == {"contrast_1", "contrast_5",
                                                    "gaussian_noise_1", "gaussian_noise_5"}
    assert ticket["mean_corruption_accuracy"] == pytest.approx(
        np.mean(list(ticket["corruption_accuracies"].values())))
    for key in ("fgsm_accuracy", "pgd_accuracy", "ece", "nll", "brier"):
        assert 0.0 <= ticket[key] <= (1.0 if key != "nll" else np.inf)
    moved = learning_distance(os.path.join(run, "round_01", "initial.weights.h5"), model, model)
    assert ticket["learning_distance"] == pytest.approx(moved["global"])
    results = os.path.join(run, "evaluation", "results.json")
    assert os.path.exists(results) and not os.path.exists(os.path.join(run, "results.json"))

    # Rerunning skips finished stages; other flags need another --name.
    record_file = os.path.join(run, "evaluation", "round_01", "record.json")
    before = os.stat(record_file).st_mtime_ns
    evaluate(config, run).run()
    assert os.stat(record_file).st_mtime_ns == before
    with pytest.raises(ConfigMismatchError, match="fgsm_epsilon"):
        evaluate(dataclasses.replace(config, fgsm_epsilon=0.3), run)
    other = evaluate(dataclasses.replace(config, fgsm_epsilon=0.3, name="eps03",
                                         stages=["round_00"]), run)
    assert other.stages() == [("round_00",)]
    assert saved_models(run, skip=("evaluation",)) == ["round_00", "round_01"]


def test_bad_input_fails_before_any_work(run, tmp_path, capsys):
    with pytest.raises(ValueError, match="--stages"):
        evaluate(EvaluationConfig(stages=["round_07"], name="direct"), run)
    with pytest.raises(ValueError, match="not a run directory"):
        evaluate(EvaluationConfig(), str(tmp_path))
    with pytest.raises(ValueError, match="--workdir: the run directory to evaluate is required"):
        Evaluation.run_path(EvaluationConfig(), "")
    # The command removes the evaluation folder a refused evaluation had opened.
    with pytest.raises(SystemExit):
        command.run(Evaluation, EvaluationConfig(stages=["round_07"]), run)
    assert "--stages" in capsys.readouterr().err
    assert not os.path.exists(os.path.join(run, "evaluation"))
    with pytest.raises(SystemExit):
        command.run(Evaluation, EvaluationConfig(), str(tmp_path / "missing"))
    assert "not a run directory" in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "missing")
    for bad, flag in ((dict(fgsm_epsilon=1.5), "fgsm_epsilon"), (dict(severities=[0]), "severities"),
                      (dict(corruptions=["fog"]), "corruptions"), (dict(name="a/b"), "name"),
                      (dict(corruption_source="web"), "corruption_source")):
        with pytest.raises(ValueError, match=f"--{flag}"):
            EvaluationConfig(**bad).validate()


def test_a_model_that_does_not_fit_the_run_architecture_is_skipped(run):
    smaller = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                                keras.layers.Dense(10, name="fc1")])
    workdir = Workdir(run, {"model": "lenet300_100", "dataset": "synthetic", "seed": 0,
                            "data_dir": ""})
    workdir.save_weights(smaller, "final", "compact")
    workdir.finish({"ticket": "layer"}, "compact")
    notes = []
    config = EvaluationConfig(**{**SMALL, "corruptions": [], "pgd_epsilon": 0.0},
                              stages=["compact", "round_00"])
    evaluation = evaluate(config, run, log=notes.append)
    records = evaluation.run()
    assert [r["stage"] for r in records] == ["round_00"]
    assert any(n.startswith("compact: skipped") for n in notes)
    assert not evaluation.workdir.finished("compact")  # skipped, so never recorded


def test_report_rows_follow_the_evaluated_stage():
    row = Evaluation.report_row
    assert row({"stage": "round_00", "round": 0, "control": None, "density": 1.0}) == (
        "dense", "", None)
    assert row({"stage": "round_01/reinit", "round": 1, "control": "reinit", "density": 0.8}) == (
        "reinit", "round 1", 1)
    assert row({"stage": "round_01", "round": 1, "control": None, "density": 0.8}) == (
        "evaluation", "round 1", 1)
