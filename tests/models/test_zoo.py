"""Every registered model builds, outputs logits and masks every kernel."""

import keras
import numpy as np
import pytest

from lth_keras.layers import MaskedLayer
from lth_keras.models import MODELS, build

SHAPES = [(28, 28, 1), (32, 32, 3)]


@pytest.mark.parametrize("input_shape", SHAPES, ids=["mnist", "cifar"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_builds_and_outputs_logits(name, input_shape):
    model = build(name, input_shape, 7, seed=0)
    assert model.name == name
    x = np.random.default_rng(0).normal(size=(3, *input_shape)).astype("float32")
    logits = np.asarray(model(x, training=False))
    assert logits.shape == (3, 7)
    assert np.all(np.isfinite(logits))
    # Logits, not probabilities: the output layer has no softmax.
    output = model.get_layer("output")
    assert output.activation is keras.activations.linear
    assert not np.allclose(logits.sum(axis=1), 1.0)

    kernels = [
        layer for layer in model.layers
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense))
    ]
    assert kernels and all(isinstance(layer, MaskedLayer) for layer in kernels)
    # In BatchNorm models every conv feeds a BN, so its bias would be redundant.
    if any(isinstance(layer, keras.layers.BatchNormalization) for layer in model.layers):
        convs = [layer for layer in kernels if isinstance(layer, keras.layers.Conv2D)]
        assert not any(layer.use_bias for layer in convs)


def test_accepted_names():
    expected = {
        "lenet300_100", "conv2", "conv4", "conv6", "vgg11", "vgg16", "vgg19",
        "resnet18", "resnet20", "resnet32", "resnet56", "resnet110",
    }
    assert expected <= set(MODELS)
