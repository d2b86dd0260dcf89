"""The layer-lottery procedure on a tiny run: cells, tickets, verdicts, resume."""

import os
from importlib.util import find_spec

import pytest

from lth_keras.procedures.layer_lottery import LayerLottery, LayerLotteryConfig
from lth_keras.runs.workdir import Workdir
from lth_keras.training import meters

TINY = dict(dataset="synthetic", iterations=4, eval_every=4, batch_size=8, remove=[1],
            criterion=["random"], seeds=[0], jit_compile=False, steps_per_execution=4,
            energy=False, score_examples_per_class=1)


def _driver(tmp_path, name="run", log=lambda *_: None, **overrides):
    config = LayerLotteryConfig(**{**TINY, **overrides})
    config.validate()
    workdir = Workdir(str(tmp_path / name), config.to_dict())
    return LayerLottery(config, workdir, log=log)


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
        # The headline is the ratio of median steady step times; the others sit beside it.
        assert r["speedup"] == pytest.approx(dense["steady_step_time_s"] / r["steady_step_time_s"])
        assert r["cpu_speedup"] == pytest.approx(dense["cpu_time_s"] / r["cpu_time_s"])
        assert r["wall_speedup"] == pytest.approx(dense["wall_time_s"] / r["wall_time_s"])
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


def test_stages_in_run_order_and_which_are_results(tmp_path):
    driver = _driver(tmp_path, remove=[1, 2], seeds=[0, 3])
    stages = driver.stages()
    assert stages[:6] == [("seed_0", "dense"), ("seed_0", "random", "scores"),
                          ("seed_0", "random", "blocks_p1"), ("seed_0", "random", "filters_p1"),
                          ("seed_0", "random", "blocks_p2"), ("seed_0", "random", "filters_p2")]
    assert stages[6] == ("seed_3", "dense") and len(stages) == 12
    assert [s for s in stages if not driver.is_result(s)] == [
        ("seed_0", "random", "scores"), ("seed_3", "random", "scores")]
    no_filters = _driver(tmp_path, name="nofilters", filter_tickets=False).stages()
    assert not [s for s in no_filters if s[-1].startswith("filters")]


def test_report_rows():
    assert LayerLottery.report_row({"ticket": "dense", "p": 0, "criterion": None}) == ("dense", "", None)
    assert LayerLottery.report_row({"ticket": "layers", "p": 2, "criterion": "grasp"}) == (
        "layers (grasp)", "p = 2", 2)


def test_asymmetric_label_noise_is_what_the_procedure_trains_on(tmp_path):
    from lth_keras.data import load

    labels = {}
    for kind in ("symmetric", "asymmetric"):
        driver = _driver(tmp_path, name=kind, label_noise=0.4, label_noise_kind=kind)
        labels[kind] = driver.data.arrays("train")[1]
    clean = load("synthetic", seed=0).arrays("train")[1]
    asymmetric = load("synthetic", seed=0, label_noise=0.4, label_noise_kind="asymmetric")
    assert (labels["asymmetric"] == asymmetric.arrays("train")[1]).all()
    assert (labels["asymmetric"] != labels["symmetric"]).any()
    # Asymmetric noise on synthetic data moves each changed label c to c + 1.
    moved = labels["asymmetric"] != clean
    assert moved.any() and ((clean[moved] + 1) % driver.data.num_classes == labels["asymmetric"][moved]).all()


def test_missing_codecarbon_is_said_once_at_the_start(tmp_path, monkeypatch):
    monkeypatch.setattr(meters.importlib.util, "find_spec",
                        lambda name, *a, **k: None if name == "codecarbon" else find_spec(name, *a, **k))
    lines = []
    _driver(tmp_path, energy=True, log=lines.append)
    assert len(lines) == 1 and "energy will not be measured" in lines[0]
    assert "pip install -e '.[energy]'" in lines[0] and "pip install codecarbon" in lines[0]
    quiet = []
    _driver(tmp_path, name="noenergy", energy=False, log=quiet.append)
    assert quiet == []  # --noenergy: nothing to say
