"""Parameter counts against Frankle & Carbin 2019 (Figure 2) and layer names."""

import numpy as np
import pytest

from lth_keras.models import build

CIFAR = (32, 32, 3)


def trainable(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def test_lenet300_100_count_and_names():
    model = build("lenet300_100", (28, 28, 1), 10)
    assert trainable(model) == 266_610
    assert [layer.name for layer in model.layers[2:]] == ["fc1", "fc2", "output"]


# Exact counts of the described architectures (biases included) and the paper's
# figure. Conv-6 as described has 2.26M, not the table's 1.7M (see conv.py).
@pytest.mark.parametrize(
    "name, exact, paper",
    [("conv2", 4_301_642, 4.3e6), ("conv4", 2_425_930, 2.4e6), ("conv6", 2_262_602, None)],
)
def test_conv_counts(name, exact, paper):
    count = trainable(build(name, CIFAR, 10))
    assert count == exact
    if paper:
        assert count == pytest.approx(paper, rel=0.02)


def test_conv6_layer_names():
    names = [layer.name for layer in build("conv6", CIFAR, 10).layers]
    assert names == [
        "input", "conv1", "conv2", "pool1", "conv3", "conv4", "pool2",
        "conv5", "conv6", "pool3", "flatten", "fc1", "fc2", "output",
    ]


def test_vgg19_count_and_names():
    model = build("vgg19", CIFAR, 10)
    assert trainable(model) == pytest.approx(20.0e6, rel=0.01)  # F&C 2019: 20.0M
    names = {layer.name for layer in model.layers}
    assert {"block1_conv1", "block1_bn1", "block5_conv4", "block5_bn4", "pool", "output"} <= names
    assert "block5_pool" not in names  # four max-pools, then global average pool
    assert model.get_layer("pool").output.shape == (None, 512)


@pytest.mark.parametrize("name, convs", [("vgg11", 8), ("vgg16", 13), ("vgg19", 16)])
def test_vgg_depth(name, convs):
    model = build(name, CIFAR, 10)
    assert sum("_conv" in layer.name for layer in model.layers) == convs
    assert sum("_bn" in layer.name for layer in model.layers) == convs
