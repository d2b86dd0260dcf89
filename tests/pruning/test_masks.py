import numpy as np
import pytest

import lth_keras
from helpers import batch, lenet, small_cnn


def _weights(model):
    return [w.copy() for w in model.get_weights()]


def test_set_get_save_load_round_trip(tmp_path):
    model = lth_keras.wrap(small_cnn())
    lth_keras.prune(model, 0.5)
    masks = lth_keras.get_masks(model)
    lth_keras.save_masks(masks, tmp_path / "masks.npz")
    loaded = lth_keras.load_masks(tmp_path / "masks.npz")
    other = lth_keras.wrap(small_cnn())
    lth_keras.set_masks(other, loaded)
    for path, mask in masks.items():
        np.testing.assert_array_equal(lth_keras.get_masks(other)[path], mask)
    for t in lth_keras.prunable_weights(other):
        assert np.all(t.kernel.numpy()[t.mask.numpy() == 0] == 0)


@pytest.mark.parametrize("bad", ["shape", "path", "values", "missing"])
def test_bad_masks_are_rejected_and_the_model_is_unchanged(bad):
    model = lth_keras.wrap(lenet())
    masks = lth_keras.get_masks(model)
    masks["fc1/kernel"] = np.zeros_like(masks["fc1/kernel"])
    if bad == "shape":
        masks["fc2/kernel"] = np.ones((3, 3))
    elif bad == "path":
        masks["nope/kernel"] = np.ones((3, 3))
    elif bad == "values":
        masks["fc2/kernel"] = masks["fc2/kernel"] * 0.5
    else:
        del masks["output/kernel"]
    before = _weights(model)
    with pytest.raises(ValueError, match="masks"):
        lth_keras.set_masks(model, masks)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_density_and_jaccard():
    model = lth_keras.wrap(lenet())
    a = lth_keras.prune(model, 0.5)
    assert lth_keras.density(model) == pytest.approx(0.5)
    assert lth_keras.jaccard(a, a) == 1.0
    b = {k: 1 - v for k, v in a.items()}
    assert lth_keras.jaccard(a, b) == 0.0
    c = {k: np.ones_like(v) for k, v in a.items()}
    assert lth_keras.jaccard(a, c) == pytest.approx(0.5)


def test_layerwise_mask_shuffle_keeps_each_layers_count():
    model = lth_keras.wrap(lenet())
    masks = lth_keras.prune(model, 0.8, scope="global")
    shuffled = lth_keras.shuffle_masks(masks, seed=1)
    for k in masks:
        assert shuffled[k].sum() == masks[k].sum()
    assert lth_keras.jaccard(masks, shuffled) < 0.5
    again = lth_keras.shuffle_masks(masks, seed=1)
    assert all(np.array_equal(again[k], shuffled[k]) for k in masks)


def test_weight_shuffle_keeps_mask_and_values():
    model = lth_keras.wrap(lenet())
    lth_keras.prune(model, 0.5)
    before = {t.path: t.kernel.numpy() for t in lth_keras.prunable_weights(model)}
    lth_keras.shuffle_weights(model, seed=0)
    for t in lth_keras.prunable_weights(model):
        after, keep = t.kernel.numpy(), t.mask.numpy() > 0
        np.testing.assert_array_equal(np.sort(after[keep]), np.sort(before[t.path][keep]))
        assert not np.array_equal(after, before[t.path])
        assert np.all(after[~keep] == 0)


def test_reinitialize_keeps_masks_and_is_seeded():
    model = lth_keras.wrap(small_cnn())
    masks = lth_keras.prune(model, 0.5)
    before = model.get_weights()
    lth_keras.reinitialize(model, seed=7)
    first = model.get_weights()
    lth_keras.reinitialize(model, seed=7)
    for a, b in zip(first, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    for path, mask in lth_keras.get_masks(model).items():
        np.testing.assert_array_equal(mask, masks[path])
    changed = sum(not np.array_equal(a, b) for a, b in zip(before, first))
    assert changed >= len(lth_keras.prunable_weights(model))
    for t in lth_keras.prunable_weights(model):
        assert np.all(t.kernel.numpy()[t.mask.numpy() == 0] == 0)
    assert np.isfinite(model(batch((12, 12, 3)))).all()
