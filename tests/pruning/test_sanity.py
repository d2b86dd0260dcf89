"""The sanity checks of Su et al. 2020: what each changes, and what it keeps."""

import numpy as np
import pytest

from lth_keras.data import load
from lth_keras.pruning import sanity
from lth_keras.models import build
from lth_keras.pruning import get_masks, layer_densities, prunable_weights
from lth_keras.pruning.at_init import prune_at_init


@pytest.fixture
def found():
    """LeNet at theta_0, its dense weights, and a SNIP-free mask (magnitude at init)."""
    model = build("lenet300_100", (28, 28, 1), 10, seed=3)
    theta = model.get_weights()
    masks = prune_at_init(model, "magnitude", 0.9)
    return model, theta, masks


def _kernels(model):
    return {t.path: t.kernel.numpy() for t in prunable_weights(model)}


def test_none_trains_the_found_mask_from_theta_0(found):
    model, theta, masks = found
    out = sanity.start_weights(model, theta, masks, sanity.get("none"), seed=0)
    assert all(np.array_equal(out[k], masks[k]) for k in masks)
    reference = build("lenet300_100", (28, 28, 1), 10, seed=3)
    for path, kernel in _kernels(model).items():
        original = reference.get_layer(path.split("/")[0]).kernel.numpy()
        np.testing.assert_array_equal(kernel, original * masks[path])


def test_rearrange_keeps_layer_ratios_and_uncovers_theta_0(found):
    model, theta, masks = found
    out = sanity.start_weights(model, theta, masks, sanity.get("rearrange"), seed=0)
    assert layer_densities(out) == layer_densities(masks)
    assert not any(np.array_equal(out[k], masks[k]) for k in masks)
    reference = build("lenet300_100", (28, 28, 1), 10, seed=3)
    for path, kernel in _kernels(model).items():
        original = reference.get_layer(path.split("/")[0]).kernel.numpy()
        np.testing.assert_array_equal(kernel, original * out[path])
    assert get_masks(model).keys() == out.keys()


def test_reinit_keeps_the_mask_and_draws_new_weights(found):
    model, theta, masks = found
    sanity.start_weights(model, theta, masks, sanity.get("reinit"), seed=0)
    reference = build("lenet300_100", (28, 28, 1), 10, seed=3)
    for path, kernel in _kernels(model).items():
        keep = masks[path] > 0
        assert np.array_equal(kernel != 0, keep)
        original = reference.get_layer(path.split("/")[0]).kernel.numpy()
        assert not np.allclose(kernel[keep], original[keep])


def test_shuffle_weights_permutes_kept_values_within_layers(found):
    model, theta, masks = found
    sanity.start_weights(model, theta, masks, sanity.get("shuffle_weights"), seed=0)
    reference = build("lenet300_100", (28, 28, 1), 10, seed=3)
    for path, kernel in _kernels(model).items():
        keep = masks[path] > 0
        original = reference.get_layer(path.split("/")[0]).kernel.numpy()
        np.testing.assert_array_equal(np.sort(kernel[keep]), np.sort(original[keep]))
        assert not np.array_equal(kernel[keep], original[keep])


def test_data_checks_find_the_mask_on_corrupted_or_half_data():
    clean = load("synthetic", seed=0)
    corrupt = load("synthetic", seed=0, **sanity.get("corrupt_data").data_options)
    half = load("synthetic", seed=0, **sanity.get("half_data").data_options)
    assert half.num_train == clean.num_train // 2
    (x, y), (xc, yc) = clean.arrays("train"), corrupt.arrays("train")
    assert np.mean(y == yc) < 0.3  # random labels
    # Each image's pixels are permuted: same values, other places.
    np.testing.assert_allclose(np.sort(x[0].ravel()), np.sort(xc[0].ravel()))
    assert not np.allclose(x[0], xc[0])
    assert sanity.get("none").data_options == {}


def test_unknown_check():
    with pytest.raises(ValueError, match="sanity"):
        sanity.get("nope")
