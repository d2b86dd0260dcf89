"""Linear mode connectivity: the path, its barrier, masks and BatchNorm statistics."""
import dataclasses

import keras
import numpy as np
import pytest

from lth_keras.analysis.instability import (
    error_barrier, interpolate, interpolated_variables, linear_mode_connectivity, linear_path,
    recompute_batch_norm_statistics, snapshot)
from lth_keras.analysis.predict import accuracy
from lth_keras.data import load
from lth_keras.models import build
from lth_keras.pruning import get_masks, prune
from lth_keras.runs.config import RunConfig
from lth_keras.training.trainer import Trainer


def bn_model(seed=0):
    inputs = keras.Input((4,))
    x = keras.layers.Dense(8, name="fc")(inputs)
    x = keras.layers.BatchNormalization(name="bn")(x)
    outputs = keras.layers.Dense(3, name="out")(x)
    model = keras.Model(inputs, outputs)
    keras.utils.set_random_seed(seed)
    for layer in (model.get_layer("fc"), model.get_layer("out")):
        layer.kernel.assign(np.random.default_rng(seed).normal(size=layer.kernel.shape))
    return model


def test_error_barrier_is_max_minus_mean_of_endpoints():
    assert error_barrier([0.10, 0.30, 0.20, 0.14]) == pytest.approx(0.30 - 0.12)
    assert error_barrier([0.2, 0.1, 0.2]) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="errors"):
        error_barrier([0.1])


def test_the_barrier_of_a_model_with_itself_is_zero():
    data = load("synthetic")
    model = build("lenet300_100", data.input_shape, data.num_classes, seed=0)
    x, y = data.arrays("test")
    same = snapshot(model)
    alphas, errors = linear_path(model, same, same, x, y)
    assert len(alphas) == 30 and alphas[0] == 0.0 and alphas[-1] == 1.0
    assert error_barrier(errors) == 0.0 and len(set(errors)) == 1


def test_interpolation_moves_weights_and_bn_statistics_never_masks():
    data = load("synthetic")
    model = build("lenet300_100", data.input_shape, data.num_classes, seed=0)
    prune(model, 0.5)
    masks = get_masks(model)
    a = snapshot(model)
    b = [w + 1.0 for w in a]
    interpolate(model, a, b, 0.25)
    for var, value in zip(interpolated_variables(model), a):
        np.testing.assert_allclose(var.numpy(), value + 0.25, rtol=1e-6)
    for path, mask in get_masks(model).items():
        np.testing.assert_array_equal(mask, masks[path])
    assert not any(v.name.endswith("_mask") for v in interpolated_variables(model))
    bn = bn_model()
    names = [v.name for v in interpolated_variables(bn)]
    assert "moving_mean" in names and "moving_variance" in names
    with pytest.raises(ValueError, match="weights_a"):
        interpolate(model, a[:1], b[:1], 0.5)


def test_recomputed_bn_statistics_are_the_mean_of_the_batch_statistics():
    model = bn_model()
    rng = np.random.default_rng(1)
    batches = [rng.normal(loc=i, size=(16, 4)).astype(np.float32) for i in range(3)]
    recompute_batch_norm_statistics(model, batches)
    fc = model.get_layer("fc")
    means = [np.mean(fc(b).numpy(), axis=0) for b in batches]
    bn = model.get_layer("bn")
    np.testing.assert_allclose(bn.moving_mean.numpy(), np.mean(means, axis=0), rtol=1e-4, atol=1e-5)
    assert bn.momentum == 0.99  # restored


def test_two_copies_trained_from_w_k_under_one_mask():
    data = load("synthetic")
    config = dataclasses.replace(RunConfig(), dataset="synthetic", iterations=16, eval_every=8,
                                 steps_per_execution=8, jit_compile=False)
    model = build("lenet300_100", data.input_shape, data.num_classes, seed=0)
    prune(model, 0.5)
    trainer = Trainer(model, data, config)
    start = [v.numpy() for v in model.weights]
    x, y = data.arrays("test")
    masks = get_masks(model)
    record = linear_mode_connectivity(trainer, start, 8, (1, 2), x, y, points=4)
    # The model is left holding the first copy, still under the mask.
    assert record["errors"][0] == pytest.approx(1 - accuracy(model, x, y))
    for path, mask in get_masks(model).items():
        np.testing.assert_array_equal(mask, masks[path])
        kernel = model.get_layer(path.split("/")[0]).kernel.numpy()
        assert np.all(kernel[mask == 0] == 0)
    assert len(record["test_accuracy_copies"]) == 2
    assert record["alphas"] == pytest.approx([0, 1 / 3, 2 / 3, 1])
    assert record["barrier"] == pytest.approx(error_barrier(record["errors"]))
    assert record["stable"] == (record["barrier"] < 0.02)
    assert record["endpoint_errors"] == [record["errors"][0], record["errors"][-1]]
    with pytest.raises(ValueError, match="data_seeds"):
        linear_mode_connectivity(trainer, start, 8, (1, 1), x, y)
