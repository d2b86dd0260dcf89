"""The TFMOT baseline: driver-side pieces (always) and the tf_keras worker
(only with the tfmot extra, which CI does not install)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from lth_keras import models
from lth_keras.baselines import tfmot_bridge as bridge
from lth_keras.baselines.tfmot_extra import missing_extra
from lth_keras.data import load
from lth_keras.procedures.tfmot_baseline import TfmotBaseline, TfmotConfig
from lth_keras.runs.workdir import Workdir
from lth_keras.wrapping import strip

needs_extra = pytest.mark.skipif(
    bool(missing_extra()),
    reason="the tfmot extra is not installed (pip install -e '.[tfmot]'): "
           f"missing {', '.join(missing_extra())}")


# Driver side: no tf_keras needed ------------------------------------------------

def test_training_order_is_the_trainers_batches():
    data = load("synthetic", seed=1)
    order, ends = bridge.training_order(data, 64, seed=3, iterations=12)
    x, y = data.arrays("train")
    starts = np.concatenate([[0], ends[:-1]])
    batches = list(data.train(64, seed=3).take(12))
    assert ends[-1] == len(order) and [e - s for s, e in zip(starts, ends)][9] == 600 - 9 * 64
    for (bx, by), s, e in zip(batches, starts, ends):
        np.testing.assert_allclose(x[order[s:e]], bx.numpy(), atol=1e-6)
        np.testing.assert_array_equal(y[order[s:e]], by.numpy())
    # A new epoch is a new permutation of every example.
    assert sorted(order[:600]) == list(range(600)) and not np.array_equal(order[:600], order[600:1200])


def test_twin_spec_of_chain_models_and_refusal_of_residual_ones():
    spec = bridge.twin_spec(strip(models.build("conv2", (32, 32, 3), 10, seed=0)))
    assert [(l["class"], l["name"]) for l in spec["layers"]] == [
        ("Conv2D", "conv1"), ("Conv2D", "conv2"), ("MaxPooling2D", "pool1"), ("Flatten", "flatten"),
        ("Dense", "fc1"), ("Dense", "fc2"), ("Dense", "output")]
    assert spec["layers"][0]["config"]["padding"] == "same"
    assert spec["input_shape"] == [32, 32, 3]
    json.dumps(spec)  # the worker reads it as JSON
    with pytest.raises(ValueError, match="--model: 'resnet20' is not a chain"):
        bridge.twin_spec(strip(models.build("resnet20", (32, 32, 3), 10, seed=0)))


def test_pruning_steps_land_on_pruning_turns():
    config = TfmotConfig()
    begin, end, final = bridge.pruning_steps(config, 1190)
    assert (begin, end) == (0, 900)  # 0.75 * 1190 = 892.5, rounded to a turn of 100
    assert final == {"constant": 100, "polynomial": 900}  # TFMOT's steps count from 1
    config = TfmotConfig(pruning_begin=0.1, pruning_end=1.0, pruning_frequency=64)
    assert bridge.pruning_steps(config, 640) == (64, 640, {"constant": 64, "polynomial": 640})
    with pytest.raises(ValueError, match="--pruning_frequency"):
        bridge.pruning_steps(TfmotConfig(pruning_frequency=500), 300)


@pytest.mark.parametrize("flags, message", [
    (dict(densities=[1.5]), "--densities"),
    (dict(densities=[]), "--densities"),
    (dict(pruning_schedules=["cubic"]), "--pruning_schedules"),
    (dict(pruning_begin=0.8, pruning_end=0.5), "--pruning_begin"),
    (dict(strategy="mirrored"), "--strategy"),
    (dict(augment=True), "--augment"),
    (dict(seeds=[-1]), "--seeds"),
    (dict(imp_workdir="/nonexistent"), "--imp_workdir"),
])
def test_bad_flags_name_the_flag(flags, message):
    with pytest.raises(ValueError, match=message):
        TfmotConfig(**flags).validate()


# The worker: needs tf_keras and TFMOT ----------------------------------------------

@needs_extra
def test_tf_keras_twin_is_the_zoo_model(tmp_path):
    """Same layers, weight shapes, parameter count and function as the Keras 3 model."""
    specs, expected = [], {}
    for name, shape in (("lenet300_100", (28, 28, 1)), ("conv2", (16, 16, 3)),
                        ("conv4", (16, 16, 3))):
        model = strip(models.build(name, shape, 10, seed=2))
        x = np.random.default_rng(0).random((3, *shape), dtype=np.float32)
        np.savez(tmp_path / f"{name}_x.npz", x=x)
        np.savez(tmp_path / f"{name}_w.npz", **bridge.weights_by_layer(model))
        spec = {**bridge.twin_spec(model), "weights": str(tmp_path / f"{name}_w.npz"),
                "inputs": str(tmp_path / f"{name}_x.npz"),
                "logits": str(tmp_path / f"{name}_logits.npy")}
        (tmp_path / f"{name}.json").write_text(json.dumps(spec))
        specs.append(str(tmp_path / f"{name}.json"))
        expected[name] = (model, np.asarray(model(x, training=False)))
    done = subprocess.run([sys.executable, bridge.WORKER, "--describe", *specs],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    described = json.loads(done.stdout.strip().splitlines()[-1])
    for (name, (model, logits)), twin in zip(expected.items(), described):
        assert twin["tf_keras_is_tf_keras"]
        assert twin["params"] == model.count_params()
        assert twin["shapes"] == {l.name: [list(w.shape) for w in l.weights]
                                  for l in model.layers if l.weights}
        np.testing.assert_allclose(np.load(tmp_path / f"{name}_logits.npy"), logits,
                                   atol=1e-5, rtol=1e-5)


@needs_extra
def test_baseline_trains_prunes_measures_and_resumes(tmp_path):
    config = TfmotConfig(dataset="synthetic", iterations=96, eval_every=32, densities=[0.25],
                               pruning_frequency=16, jit_compile=False, seed=4)
    config.validate()
    workdir = Workdir(str(tmp_path / "run"), config.to_dict())
    records = TfmotBaseline(config, workdir, log=lambda *a: None).run()

    assert [r["method"] for r in records] == ["tfmot_constant", "tfmot_polynomial"]
    for r in records:
        assert r["seed"] == 4 and r["iterations"] == 96 and r["pruning_step"] == 96
        # TFMOT prunes each layer to the target; measured back in Keras 3.
        assert abs(r["density"] - 0.25) < 1e-3
        assert all(abs(d - 0.25) < 1e-3 for d in r["layer_densities"].values())
        assert r["test_accuracy"] > 0.5  # synthetic is learnable in 96 steps
        assert abs(r["test_accuracy_keras3"] - r["test_accuracy"]) <= 0.01
        assert r["early_stop_iteration"] >= {"tfmot_constant": 16, "tfmot_polynomial": 64}[r["method"]]
        assert r["tflite_gzip_bytes"] < 0.5 * r["dense_tflite_gzip_bytes"]
    cell = tmp_path / "run" / "polynomial" / "density_0.25" / "seed_4"
    with np.load(cell / "trained.npz") as trained:
        assert abs(np.mean(trained["fc1/0"] == 0) - 0.75) < 1e-3  # strip_pruning kept zeros
    logs = tmp_path / "run" / "tensorboard" / "polynomial_density_0.25_seed_4" / "metrics"
    assert any(f.startswith("events.out.tfevents") for f in os.listdir(logs))  # PruningSummaries
    saved = json.loads((tmp_path / "run" / "results.json").read_text())
    assert saved["runs"] == json.loads(json.dumps(records))
    assert saved["config"]["resolved_iterations"] == 96

    # Rerunning resumes: every cell is finished, so no worker is launched.
    again = TfmotBaseline(config, Workdir(str(tmp_path / "run"), config.to_dict()),
                                log=lambda *a: None)
    again._launch = lambda jobs: pytest.fail(f"relaunched the worker for {jobs}")
    assert again.run() == records


def test_report_rows_put_the_dense_round_first_and_cells_by_target_density():
    row = TfmotBaseline.report_row
    assert row({"method": "dense", "density": 1.0, "round": 0, "target_density": None}) == (
        "dense", "", None)
    assert row({"method": "tfmot_constant", "density": 0.2, "target_density": 0.2}) == (
        "tfmot_constant", "target_density 0.2", 0.2)
    assert row({"method": "imp", "density": 0.21, "round": 7, "target_density": 0.2}) == (
        "imp", "round 7", 7)
