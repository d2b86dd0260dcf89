"""Every registered model builds, outputs logits, masks every kernel, has its size."""

import keras
import numpy as np
import pytest

from lth_keras.layers import MaskedLayer
from lth_keras.models import MODELS, build

# Trainable parameters at 32x32x3 and 10 classes (masks and BN statistics not
# counted), with the published figure where there is one: Frankle & Carbin
# 2019, Figure 2, for Conv-2/4 and VGG-19; He et al. 2016, Table 6 (option A
# shortcuts; our default projections add 0.3-1%) for the CIFAR ResNets.
CIFAR_COUNTS = {
    "lenet300_100": (953_010, None),
    "conv2": (4_301_642, 4.3e6),
    "conv4": (2_425_930, 2.4e6),
    "conv6": (2_262_602, None),  # the paper says 1.7M; see lth_keras/models/conv.py
    "vgg11": (9_228_362, None),
    "vgg16": (14_724_042, None),
    "vgg19": (20_035_018, 20.0e6),
    "resnet18": (11_173_962, None),
    "resnet20": (272_474, 0.27e6),
    "resnet32": (466_906, 0.46e6),
    "resnet56": (855_770, 0.85e6),
    "resnet110": (1_730_714, 1.7e6),
}


def trainable(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


@pytest.mark.parametrize("input_shape", [(28, 28, 1), (32, 32, 3)], ids=["mnist", "cifar"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_builds_and_outputs_logits(name, input_shape):
    model = build(name, input_shape, 10, seed=0)
    assert model.name == name
    x = np.random.default_rng(0).normal(size=(3, *input_shape)).astype("float32")
    logits = np.asarray(model(x, training=False))
    assert logits.shape == (3, 10)
    assert np.all(np.isfinite(logits))
    # Logits, not probabilities: the output layer has no softmax.
    assert model.get_layer("output").activation is keras.activations.linear
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

    if input_shape == (32, 32, 3):
        exact, published = CIFAR_COUNTS[name]
        assert trainable(model) == exact
        if published:
            assert trainable(model) == pytest.approx(published, rel=0.02)


def test_every_model_has_a_count():
    assert set(CIFAR_COUNTS) == set(MODELS)


def test_any_number_of_classes():
    model = build("resnet20", (16, 16, 3), 100)
    assert model.output.shape == (None, 100)
