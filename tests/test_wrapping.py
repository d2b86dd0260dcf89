import keras
import numpy as np
import pytest

import lth_keras
from lth_keras.layers import MaskedConv2D, MaskedDense, MaskedLayer
from helpers import batch, lenet, small_cnn


def _no_lth_class(model):
    for layer in model._flatten_layers(include_self=True, recursive=True):
        assert not type(layer).__module__.startswith("lth_keras"), type(layer)


@pytest.mark.parametrize(
    "build, shape",
    [
        (lenet, (28, 28, 1)),
        (small_cnn, (12, 12, 3)),
        (lambda: keras.applications.MobileNetV2(weights=None, input_shape=(32, 32, 3), alpha=0.35), (32, 32, 3)),
    ],
    ids=["sequential", "functional_nested", "mobilenetv2"],
)
def test_wrap_strip_round_trip(build, shape):
    model = build()
    x = batch(shape, n=2)
    wrapped = lth_keras.wrap(model)
    np.testing.assert_allclose(wrapped(x), model(x), atol=1e-6)
    assert lth_keras.prunable_weights(wrapped)
    lth_keras.prune(wrapped, 0.5)
    stripped = lth_keras.strip(wrapped)
    _no_lth_class(stripped)
    np.testing.assert_allclose(stripped(x), wrapped(x), atol=1e-6)
    # Masks are folded in: the stripped kernels are as sparse as the ticket.
    assert lth_keras.metrics.parameter_counts(stripped)["nonzero"] == (
        lth_keras.metrics.parameter_counts(wrapped)["nonzero"]
    )


def test_nested_model_layers_are_masked():
    wrapped = lth_keras.wrap(small_cnn())
    assert "head_fc/kernel" in lth_keras.get_masks(wrapped)


def test_policy_exclude_by_name_type_and_position():
    model = small_cnn()
    w = lth_keras.wrap(model, exclude=["fc", keras.layers.DepthwiseConv2D])
    paths = set(lth_keras.get_masks(w))
    assert "fc/kernel" not in paths and "dw/kernel" not in paths and "conv1/kernel" in paths
    w = lth_keras.wrap(model, skip_first=True, skip_last=True)
    paths = set(lth_keras.get_masks(w))
    assert "conv1/kernel" not in paths and "output/kernel" not in paths
    w = lth_keras.wrap(model, include=[keras.layers.Dense])
    assert all(not p.startswith(("conv1", "dw", "sep", "c1d")) for p in lth_keras.get_masks(w))


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        (dict(exclude=["nope"]), "exclude"),
        (dict(include=["nope"]), "include"),
        (dict(include=["bn1"]), "include"),
        (dict(include=[keras.layers.LSTM]), "include"),
    ],
)
def test_bad_policy(kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        lth_keras.wrap(small_cnn(), **kwargs)


def test_nothing_to_mask():
    model = keras.Sequential([keras.Input((4,)), keras.layers.ReLU()])
    with pytest.raises(ValueError, match="no layer to mask"):
        lth_keras.wrap(model)


class _Subclassed(keras.Model):
    """A subclassed model written directly with lth_keras layers."""

    def __init__(self):
        super().__init__()
        self.conv = MaskedConv2D(4, 3, name="conv")
        self.flat = keras.layers.Flatten()
        self.out = MaskedDense(10, name="out")

    def call(self, x):
        return self.out(self.flat(self.conv(x)))


def test_subclassed_model_from_lth_layers_works_with_the_api(tmp_path):
    model = _Subclassed()
    x = batch((8, 8, 3))
    model(x)
    assert [t.kind for t in lth_keras.prunable_weights(model)] == ["conv", "output"]
    lth_keras.prune(model, 0.5)
    assert lth_keras.density(model) == pytest.approx(0.5, abs=1e-3)
    report = lth_keras.metrics.report(model)
    assert report["dense_multiply_adds"] == 3 * 3 * 3 * 4 * 36 + 144 * 10
    masks = lth_keras.shuffle_masks(lth_keras.get_masks(model), seed=0)
    lth_keras.set_masks(model, masks)
    lth_keras.reinitialize(model, seed=1)
    assert all(isinstance(l, MaskedLayer) for l in (model.conv, model.out))
    with pytest.raises(ValueError, match="model"):
        lth_keras.wrap(model)
