"""Library inputs to wrap and prune that once did the wrong thing quietly."""

import warnings

import keras
import numpy as np
import pytest

import lth_keras
from helpers import lenet


def _kept(model):
    return {p: int(m.sum()) for p, m in lth_keras.get_masks(model).items()}


@pytest.mark.parametrize("kwargs", [dict(amount=True), dict(amount=False), dict(density=True),
                                    dict(amount={"fc1": True})])
def test_a_bool_is_not_an_amount(kwargs):
    model = lth_keras.wrap(lenet())
    before = _kept(model)
    with pytest.raises(ValueError, match=r"expected a fraction in \[0, 1\], got (True|False)"):
        lth_keras.prune(model, **kwargs)
    assert _kept(model) == before


def test_one_excluded_name_is_one_layer_not_its_letters():
    model = lth_keras.wrap(lenet())
    lth_keras.prune(model, 0.5, exclude="fc1", scope="layerwise")
    kept = _kept(model)
    assert kept["fc1/kernel"] == 784 * 300 and kept["fc2/kernel"] == 300 * 100 // 2
    wrapped = lth_keras.wrap(lenet(), exclude="fc1")
    assert "fc1/kernel" not in lth_keras.get_masks(wrapped)
    assert "fc2/kernel" in lth_keras.get_masks(wrapped)
    only = lth_keras.wrap(lenet(), include="fc2")
    assert list(lth_keras.get_masks(only)) == ["fc2/kernel"]
    by_type = lth_keras.wrap(lenet(), include=keras.layers.Dense)
    assert len(lth_keras.get_masks(by_type)) == 3


def test_wrapping_a_wrapped_model_says_so():
    wrapped = lth_keras.wrap(lenet())
    with pytest.raises(ValueError, match="already wrapped .*wrap the plain model, or use it"):
        lth_keras.wrap(wrapped)


def test_layers_left_dense_give_one_warning_with_their_share():
    inputs = keras.Input((6,), dtype="int32")
    x = keras.layers.Embedding(50, 8, name="embed")(inputs)
    x = keras.layers.MultiHeadAttention(2, 4, name="attention")(x, x)
    x = keras.layers.LSTM(4, return_sequences=True, name="lstm")(x)
    x = keras.layers.GRU(4, name="gru")(x)
    outputs = keras.layers.Dense(3, name="output")(x)
    model = keras.Model(inputs, outputs, name="sequence")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        wrapped = lth_keras.wrap(model)
    messages = [str(w.message) for w in caught if "left dense" in str(w.message)]
    assert len(messages) == 1
    dense = sum(model.get_layer(n).count_params() for n in ("embed", "attention", "lstm", "gru"))
    share = f"{dense / model.count_params():.1%}"
    for name in ("'embed' (Embedding)", "'attention' (MultiHeadAttention)", "'lstm' (LSTM)",
                 "'gru' (GRU)", share):
        assert name in messages[0]
    assert "query" not in messages[0]  # the attention's own EinsumDense are not listed apart
    assert list(lth_keras.get_masks(wrapped)) == ["output/kernel"]
    np.testing.assert_allclose(wrapped(np.ones((2, 6), "int32")), model(np.ones((2, 6), "int32")),
                               rtol=1e-5, atol=1e-6)


def test_transposed_convolutions_are_named_too():
    model = keras.Sequential([keras.Input((4, 4, 2)),
                              keras.layers.Conv2DTranspose(3, 3, name="up"),
                              keras.layers.Conv2D(2, 3, name="conv")])
    with pytest.warns(UserWarning, match="'up' \\(Conv2DTranspose\\)"):
        lth_keras.wrap(model)


def test_a_plain_supported_model_wraps_without_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lth_keras.wrap(lenet())
