"""The shared drop-and-grow step and each method's grow score."""

import keras
import numpy as np
import pytest

import lth_keras
from helpers import lenet
from lth_keras.pruning.at_init import prune_at_init
from lth_keras.pruning.targets import prunable_weights
from lth_keras.sparse_training import METHODS, RigL, dense_gradients, slots_of


def _sparse_lenet(density=0.2, seed=0, optimizer="sgd"):
    model = lth_keras.wrap(lenet())
    prune_at_init(model, "erk_random", 1.0 - density, seed=seed)
    optimizers = {"sgd": keras.optimizers.SGD(0.1, momentum=0.9),
                  "adam": keras.optimizers.Adam(1e-3), "adamw": keras.optimizers.AdamW(1e-3)}
    model.compile(optimizers[optimizer],
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def _data(n=120, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, n)


def _gradients(model, x, y):
    return dense_gradients(model, x[:60], y[:60], model.loss)


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw"])
@pytest.mark.parametrize("name", ["set", "rigl", "dst_ee"])
def test_counts_stay_exact_grown_weights_and_slots_are_zero(name, optimizer):
    model = _sparse_lenet(optimizer=optimizer)
    x, y = _data()
    model.fit(x, y, batch_size=60, epochs=1, verbose=0)  # builds the optimizer's slots
    targets = prunable_weights(model)
    before = {t.path: t.mask.numpy().copy() for t in targets}
    assert all(slots_of(model.optimizer, t.kernel) for t in targets)
    method = METHODS[name](seed=1)
    report = method.update(model, 100, 0.3, _gradients(model, x, y))
    for t in targets:
        old, new = before[t.path], t.mask.numpy()
        assert new.sum() == old.sum()  # the layer's active count never changes
        dropped, grown, _ = report[t.path]
        # floor(f * n_active) leave and as many arrive (fewer when a dropped
        # connection is regrown at once: it stays, and is counted in neither).
        assert dropped <= int(np.floor(0.3 * old.sum()))
        fresh = new & ~old
        assert fresh.sum() == grown == dropped
        assert np.all(t.kernel.numpy()[fresh] == 0)  # grown weights start at 0
        for slot in slots_of(model.optimizer, t.kernel):
            assert np.all(slot.numpy()[fresh] == 0)  # and so does their state
    assert sum(d for d, _, _ in report.values()) > 0
    model.fit(x, y, batch_size=60, epochs=1, verbose=0)
    for t in targets:  # pruned weights stay exactly 0 between updates
        assert np.all(t.kernel.numpy()[~t.mask.numpy()] == 0)


def test_rigl_grows_the_largest_dense_gradients_among_inactive_entries():
    model = _sparse_lenet()
    x, y = _data()
    t = prunable_weights(model)[1]
    old = t.mask.numpy().copy()
    gradients = _gradients(model, x, y)
    n = int(np.floor(0.3 * old.sum()))
    w = np.abs(t.kernel.numpy()).ravel()
    active = np.flatnonzero(old.ravel())
    dropped = active[np.argsort(w[active], kind="stable")[:n]]
    inactive = np.flatnonzero(~old.ravel())
    candidates = np.concatenate([inactive, dropped])
    g = np.abs(gradients[t.path]).ravel()
    # The inactive entries have nonzero dense gradients: the mask hid them.
    assert np.count_nonzero(g[inactive]) > 0.5 * len(inactive)
    expected = set(candidates[np.argsort(-g[candidates], kind="stable")[:n]])
    RigL().update(model, 100, 0.3, gradients)
    new = t.mask.numpy().ravel()
    kept = set(active) - set(dropped)
    assert set(np.flatnonzero(new)) == kept | expected


def test_set_is_reproducible_with_a_seed_and_static_never_changes():
    masks = []
    for _ in range(2):
        keras.utils.set_random_seed(0)  # the same theta_0: only SET's own seed may matter
        model = _sparse_lenet()
        METHODS["set"](seed=3).update(model, 100, 0.3)
        masks.append(lth_keras.get_masks(model))
    assert all(np.array_equal(masks[0][p], masks[1][p]) for p in masks[0])
    model = _sparse_lenet()
    before = lth_keras.get_masks(model)
    METHODS["static"]().update(model, 100, 0.3)
    assert all(np.array_equal(before[p], m) for p, m in lth_keras.get_masks(model).items())


def test_itop_rate_counts_every_weight_ever_active():
    model = _sparse_lenet(density=0.2)
    method = METHODS["set"](seed=0)
    method.track(model)
    start, _ = method.itop_rate()
    method.update(model, 100, 0.3)
    after, per_layer = method.itop_rate()
    assert start == pytest.approx(lth_keras.density(model), abs=1e-3)
    assert after > start and set(per_layer) == set(lth_keras.get_masks(model))
    restored = METHODS["set"](seed=0)
    restored.load_state(method.state())
    assert restored.itop_rate()[0] == after
