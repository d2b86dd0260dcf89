import glob
import os

import numpy as np
import pytest
import tensorflow as tf

import lth_keras
from lth_keras.procedures.imp import IMP, ImpConfig
from lth_keras.runs.workdir import Workdir

REQUIRED = {"round", "density", "test_accuracy", "test_accuracy_at_early_stop",
            "early_stop_iteration", "control", "wall_time_s"}


def _run(tmp_path, strategy=None, name="run", **overrides):
    settings = dict(dataset="synthetic", iterations=64, eval_every=32, rounds=2,
                    controls=["reinit", "shuffle", "random_prune"])
    config = ImpConfig(**{**settings, **overrides})
    config.validate()
    workdir = Workdir(str(tmp_path / name), config.to_dict())
    imp = IMP(config, workdir, strategy, log=lambda *_: None)
    return imp, imp.run()


def test_rounds_controls_files_and_results(tmp_path):
    imp, records = _run(tmp_path)
    path = imp.workdir.path
    tickets = [r for r in records if r["control"] is None]
    assert [r["round"] for r in tickets] == [0, 1, 2]
    assert all(REQUIRED <= set(r) for r in records)
    # fc layers lose 20% and the output layer 10% of the remaining weights per round.
    for r in tickets:
        d = r["layer_densities"]
        assert d["fc1/kernel"] == pytest.approx(0.8 ** r["round"], abs=1e-3)
        assert d["output/kernel"] == pytest.approx(0.9 ** r["round"], abs=2e-3)
    for r in (1, 2):
        ticket = lth_keras.load_masks(f"{path}/round_0{r}/masks.npz")
        reinit = lth_keras.load_masks(f"{path}/round_0{r}/reinit/masks.npz")
        shuffled = lth_keras.load_masks(f"{path}/round_0{r}/shuffle/masks.npz")
        random = lth_keras.load_masks(f"{path}/round_0{r}/random_prune/masks.npz")
        assert lth_keras.jaccard(ticket, reinit) == 1.0
        for k in ticket:
            assert shuffled[k].sum() == ticket[k].sum() == random[k].sum()
        assert lth_keras.jaccard(ticket, shuffled) < 0.95
        # Each round prunes within the previous round's mask.
        if r == 2:
            previous = lth_keras.load_masks(f"{path}/round_01/masks.npz")
            assert all(np.all(ticket[k] <= previous[k]) for k in ticket)
        for name in ("initial", "final"):
            assert os.path.exists(f"{path}/round_0{r}/{name}.weights.h5")
    for name in ("initial", "rewind", "final"):
        assert os.path.exists(f"{path}/round_00/{name}.weights.h5")
    results = lth_keras.runs.read_results(path)
    assert set(results) == {"procedure", "config", "rounds"} and len(results["rounds"]) == 9
    assert results["procedure"] == "imp"
    assert results["config"]["seed"] == 0 and results["config"]["resolved_iterations"] == 64
    assert os.path.exists(f"{path}/results.csv") and os.path.exists(f"{path}/accuracy_vs_density.png")


def _weights(path, model):
    model.load_weights(path)
    return [w.numpy() for w in model.weights]


@pytest.mark.parametrize("retrain", ["rewind", "lr_rewind", "finetune"])
def test_retrain_modes_start_where_they_should(tmp_path, retrain):
    # Finetuning rewinds nothing: a rewind iteration with it is refused.
    k = 0 if retrain == "finetune" else 32
    imp, records = _run(tmp_path, retrain=retrain, rewind_iteration=k, rounds=1, controls=[])
    path, model = imp.workdir.path, imp.model
    start = _weights(f"{path}/round_01/initial.weights.h5", model)
    origin = "rewind" if retrain == "rewind" else "final"
    expected = _weights(f"{path}/round_00/{origin}.weights.h5", model)
    masks = lth_keras.load_masks(f"{path}/round_01/masks.npz")
    model.load_weights(f"{path}/round_01/initial.weights.h5")
    for t in lth_keras.prunable_weights(model):
        assert np.all(t.kernel.numpy()[masks[t.path] == 0] == 0)
    # Unpruned weights start exactly at theta_k (rewind) or the trained values.
    for got, want in zip(start, expected):
        if got.shape == want.shape and not np.array_equal(got, want):
            kept = got != 0
            np.testing.assert_array_equal(got[kept], want[kept])
    # Retraining covers iterations k..T of the schedule.
    assert records[-1]["iterations"] == 64
    if retrain == "rewind":
        theta_0 = _weights(f"{path}/round_00/initial.weights.h5", model)
        assert any(not np.array_equal(a, b) for a, b in zip(theta_0, expected))


def test_mirrored_strategy_gives_the_single_device_masks(tmp_path):
    _, single = _run(tmp_path, name="single", controls=[], jit_compile=False,
                     steps_per_execution=1)
    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    _, multi = _run(tmp_path, name="mirrored", strategy=mirrored, controls=[])
    assert [r["density"] for r in multi] == [r["density"] for r in single]
    for r in (1, 2):
        a = lth_keras.load_masks(f"{tmp_path}/single/round_0{r}/masks.npz")
        b = lth_keras.load_masks(f"{tmp_path}/mirrored/round_0{r}/masks.npz")
        assert lth_keras.jaccard(a, b) >= 0.999, lth_keras.jaccard(a, b)


def _scalars(log_dir):
    values = {}
    for path in glob.glob(f"{log_dir}/**/events.out.tfevents.*", recursive=True):
        for event in tf.compat.v1.train.summary_iterator(path):
            for v in event.summary.value:
                value = tf.make_ndarray(v.tensor)
                if value.ndim == 0 and value.dtype.kind == "f":
                    values.setdefault(v.tag, []).append((event.step, float(value)))
    return values


def test_tensorboard_density_scalars(tmp_path):
    imp, records = _run(tmp_path, rounds=1, controls=["reinit"])
    board = f"{imp.workdir.path}/tensorboard"
    ticket = records[1]
    round_1 = _scalars(f"{board}/round_01")
    assert round_1["density/global"][-1][1] == pytest.approx(ticket["density"], abs=1e-6)
    assert round_1["density/fc1/kernel"][-1][1] == pytest.approx(0.8, abs=1e-3)
    assert "kept_weights/fc1/kernel" not in round_1  # histograms are not scalars
    rounds = _scalars(f"{board}/rounds")
    assert dict(rounds["ticket/density"])[1] == pytest.approx(ticket["density"])
    assert dict(rounds["reinit/test_accuracy"])[1] == pytest.approx(records[2]["test_accuracy"])
    assert "epoch_loss" in _scalars(f"{board}/round_00/train")
