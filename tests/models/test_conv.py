import pytest

from lth_keras.models import build, conv_net


def test_conv6_layer_names():
    names = [layer.name for layer in build("conv6", (32, 32, 3), 10).layers]
    assert names == [
        "input", "conv1", "conv2", "pool1", "conv3", "conv4", "pool2",
        "conv5", "conv6", "pool3", "flatten", "fc1", "fc2", "output",
    ]


def test_conv_widths_follow_frankle_carbin():
    model = build("conv4", (28, 28, 1), 10)
    assert [model.get_layer(f"conv{c}").filters for c in (1, 2, 3, 4)] == [64, 64, 128, 128]
    assert model.get_layer("fc1").units == model.get_layer("fc2").units == 256
    with pytest.raises(ValueError, match="`pairs`"):
        conv_net((32, 32, 3), 10, pairs=4)
