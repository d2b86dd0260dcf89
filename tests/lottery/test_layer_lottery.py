"""The layer-lottery driver on a tiny run: cells, tickets, verdicts, resume."""

import os

import pytest

from lth_keras.lottery.layer_lottery import (
    EnergyMeter, LayerLottery, LayerLotteryConfig, summarize)
from lth_keras.runs.workdir import Workdir

TINY = dict(dataset="synthetic", iterations=4, eval_every=4, batch_size=8, remove=[1],
            criterion=["random"], seeds=[0], jit_compile=False, steps_per_execution=4,
            energy=False, score_examples_per_class=1)


def _driver(tmp_path, name="run", **overrides):
    config = LayerLotteryConfig(**{**TINY, **overrides})
    config.validate()
    workdir = Workdir(str(tmp_path / name), config.to_dict())
    return LayerLottery(config, workdir, log=lambda *_: None)


def test_tiny_run_cells_and_resume(tmp_path):
    driver = _driver(tmp_path)
    records = driver.run()
    assert [(r["ticket"], r["p"]) for r in records] == [("dense", 0), ("layers", 1), ("filters", 1)]
    dense = records[0]
    for r in records[1:]:
        assert r["params"] < dense["params"]
        assert r["multiply_adds"] < dense["multiply_adds"]
        assert r["win"] == (r["accuracy_gap_pp"] + 0.0 >= 0)
        assert r["accuracy_gap_pp"] == pytest.approx(100 * (r["test_accuracy"] - dense["test_accuracy"]))
        assert r["speedup"] == pytest.approx(dense["wall_time_s"] / r["wall_time_s"])
        assert r["same_process_as_dense"]
        assert r["energy_kwh"] is None and "--noenergy" in r["energy_note"]
    layers = [r for r in records if r["ticket"] == "layers"]
    for r in layers:
        removed = r["removed_blocks"].split(",")
        assert len(removed) == r["p"]
        assert not {"stage2_block1", "stage3_block1"} & set(removed)
        assert r["gated_multiply_adds"] == r["multiply_adds"]  # compaction kept the count
    for layer, filters in zip(layers, [r for r in records if r["ticket"] == "filters"]):
        # The filter ticket is matched to the layer ticket's multiply-adds.
        assert filters["multiply_adds"] == pytest.approx(layer["multiply_adds"], rel=0.03)
        assert filters["filter_criterion"] == "random"
    path = driver.workdir.path
    for name in ("results.json", "results.csv", "accuracy_vs_p.png", "speedup_vs_p.png",
                 "summary/results.json"):
        assert os.path.exists(os.path.join(path, name)), name
    stamp = os.stat(os.path.join(path, "seed_0", "random", "blocks_p1", "record.json")).st_mtime_ns

    again = _driver(tmp_path).run()  # resumes: nothing is retrained
    assert again == records
    assert os.stat(os.path.join(path, "seed_0", "random", "blocks_p1",
                                "record.json")).st_mtime_ns == stamp


def test_summary_means_over_seeds():
    records = [
        {"criterion": None, "ticket": "dense", "p": 0, "test_accuracy": 0.9},
        {"criterion": None, "ticket": "dense", "p": 0, "test_accuracy": 0.8},
        {"criterion": "grasp", "ticket": "layers", "p": 1, "test_accuracy": 0.7, "win": False},
        {"criterion": "grasp", "ticket": "layers", "p": 1, "test_accuracy": 0.9, "win": True},
    ]
    dense, layers = summarize(records)
    assert dense["test_accuracy_mean"] == pytest.approx(0.85) and dense["seeds"] == 2
    assert layers["wins"] == 1 and layers["test_accuracy_std"] == pytest.approx(0.1414, abs=1e-4)


@pytest.mark.parametrize("overrides, flag", [
    (dict(criterion=["gate"], algorithm=2), "--criterion"),
    (dict(criterion=["hrank"]), "--criterion"),
    (dict(remove=[0]), "--remove"),
    (dict(algorithm=3), "--algorithm"),
    (dict(rewind_iteration=4), "--rewind_iteration"),
    (dict(country_iso_code="US"), "--country_iso_code"),
    (dict(aggregation="max"), "--aggregation"),
    (dict(model="vgg11"), "--model"),
])
def test_bad_flags_are_refused(overrides, flag):
    with pytest.raises(ValueError, match=flag):
        LayerLotteryConfig(**{**TINY, **overrides}).validate()


def test_more_blocks_than_removable_is_refused_before_training(tmp_path):
    with pytest.raises(ValueError, match="--remove: resnet20 has 7 removable"):
        _driver(tmp_path, remove=[8])
    assert not os.path.exists(tmp_path / "run" / "seed_0")


def test_energy_meter_never_fails_the_run():
    with EnergyMeter("USA", enabled=False) as meter:
        pass
    assert meter.result["energy_kwh"] is None and meter.result["country_iso_code"] == "USA"


def test_algorithm_1_scores_learned_gates_after_training_and_rewinds(tmp_path):
    driver = _driver(tmp_path, algorithm=1, criterion=["gate"], filter_tickets=False,
                     iterations=8, rewind_iteration=4, retrain="rewind")
    dense, ticket = driver.run()
    scores = driver.workdir.record("seed_0", "gate", "scores")
    assert scores["scored_at"] == "trained"
    # The gates were learned (and L1-penalised) during dense training.
    assert any(v != 1.0 for v in scores["block_scores"].values())
    # Rewound to iteration 4, the ticket trains the remaining 4 iterations.
    assert ticket["iterations"] == 8 and dense["iterations"] == 8
    assert ticket["removed_blocks"] in [b for b, v in scores["block_scores"].items()
                                        if v == min(scores["block_scores"][n] for n in
                                                    scores["block_scores"]
                                                    if n not in ("stage2_block1", "stage3_block1"))]
