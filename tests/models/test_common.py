"""Seeding: same seed, same theta_0; different seed, different theta_0."""

import numpy as np
import pytest

from lth_keras.models import LayerInitializers, build


def kernels(model):
    return {w.path: w.numpy() for w in model.weights if w.path.endswith("kernel")}


@pytest.mark.parametrize("name", ["lenet300_100", "conv2", "vgg11", "resnet20"])
def test_seed_determines_weights(name):
    shape = (28, 28, 1)
    first, again, other = (kernels(build(name, shape, 10, seed=s)) for s in (3, 3, 4))
    assert first.keys() == again.keys() == other.keys()
    for path in first:
        np.testing.assert_array_equal(first[path], again[path])
        assert not np.allclose(first[path], other[path]), path


def test_same_shaped_layers_get_different_values():
    model = build("resnet20", (32, 32, 3), 10, seed=0)
    a = model.get_layer("stage1_block1_conv2").kernel.numpy()
    b = model.get_layer("stage1_block2_conv2").kernel.numpy()
    assert a.shape == b.shape and not np.allclose(a, b)


def test_unseeded_models_differ():
    a, b = (kernels(build("lenet300_100", (28, 28, 1), 10)) for _ in range(2))
    assert not np.allclose(a["fc1/kernel"], b["fc1/kernel"])


def test_initializer_option():
    glorot = build("lenet300_100", (28, 28, 1), 10, seed=0)
    he = build("lenet300_100", (28, 28, 1), 10, seed=0, initializer="he_normal")
    fan_in, fan_out = 784, 300
    he_std = np.std(he.get_layer("fc1").kernel.numpy())
    glorot_std = np.std(glorot.get_layer("fc1").kernel.numpy())
    assert he_std == pytest.approx(np.sqrt(2 / fan_in), rel=0.05)
    assert glorot_std == pytest.approx(np.sqrt(2 / (fan_in + fan_out)), rel=0.05)


def test_layer_seed_depends_on_seed_and_name_only():
    inits = LayerInitializers(seed=7)
    assert inits.layer_seed("fc1") == LayerInitializers(seed=7).layer_seed("fc1")
    assert inits.layer_seed("fc1") != inits.layer_seed("fc2")
    assert inits.layer_seed("fc1") != LayerInitializers(seed=8).layer_seed("fc1")
    assert LayerInitializers().layer_seed("fc1") is None
    with pytest.raises(ValueError, match="`seed`"):
        LayerInitializers(seed=-1)
