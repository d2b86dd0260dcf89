"""The callbacks dropped into a user's own model.fit, without the IMP driver."""

import glob

import keras
import numpy as np
import pytest

import lth_keras
from lth_keras.callbacks import EarlyStopIteration, IterativePruning, RewindPoint, SparsitySummaries
from lth_keras.pruning.schedules import Iterative, OneShot, PolynomialDecay
from helpers import batch, lenet


def _fit(model, callbacks, steps=40, steps_per_execution=1, validation=False):
    model.compile(optimizer=keras.optimizers.Adam(1e-3), steps_per_execution=steps_per_execution,
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x, y = batch((28, 28, 1), n=8 * steps), np.arange(8 * steps) % 10
    val = (x[:32], y[:32]) if validation else None
    model.fit(x, y, batch_size=8, epochs=2 if validation else 1, verbose=0,
              validation_data=val, callbacks=callbacks)


def test_rewind_point_captures_theta_k_exactly():
    model = lth_keras.wrap(lenet())
    theta_0 = [w.numpy() for w in model.weights]
    rewind0, rewind8 = RewindPoint(0), RewindPoint(8, include_optimizer=True)
    _fit(model, [rewind0, rewind8], steps_per_execution=4)
    assert rewind0.captured_iteration == 0 and rewind8.captured_iteration == 8
    for a, b in zip(theta_0, rewind0.weights):
        np.testing.assert_array_equal(a, b)
    assert rewind8.optimizer_state is not None
    assert any(not np.array_equal(a, b) for a, b in zip(theta_0, rewind8.weights))
    lth_keras.prune(model, 0.5)
    rewind8.rewind(model)
    for t in lth_keras.prunable_weights(model):
        kept = t.mask.numpy() > 0
        index = [w.path for w in model.weights].index(t.kernel.path)
        np.testing.assert_array_equal(t.kernel.numpy()[kept], rewind8.weights[index][kept])
        assert np.all(t.kernel.numpy()[~kept] == 0)


def test_schedules():
    assert [OneShot(10, 0.3).density(s) for s in (9, 10)] == [1.0, 0.3]
    assert Iterative([5, 10], 0.2).density(10) == pytest.approx(0.64)
    poly = PolynomialDecay(0.9, begin_step=0, end_step=100, frequency=10)
    assert poly.density(0) == 1.0 and poly.density(100) == pytest.approx(0.1)
    # Zhu & Gupta: s_t = s_f + (s_i - s_f)(1 - t/T)^3, held between updates.
    assert poly.density(55) == pytest.approx(1 - (0.9 - 0.9 * (1 - 0.5) ** 3))
    densities = [poly.density(s) for s in range(0, 120, 5)]
    assert densities == sorted(densities, reverse=True)


def test_gradual_pruning_in_a_users_fit():
    model = lth_keras.wrap(lenet())
    pruning = IterativePruning(PolynomialDecay(0.8, begin_step=0, end_step=30, frequency=10))
    _fit(model, [pruning], steps=40, steps_per_execution=5)
    assert [s for s, _ in pruning.events] == [10, 20, 30]
    assert lth_keras.density(model) == pytest.approx(0.2, abs=1e-4)
    for t in lth_keras.prunable_weights(model):
        assert np.all(t.kernel.numpy()[t.mask.numpy() == 0] == 0)


def test_early_stop_iteration_and_sparsity_summaries(tmp_path):
    model = lth_keras.wrap(lenet())
    lth_keras.prune(model, 0.5)
    tracker = EarlyStopIteration()
    _fit(model, [tracker, SparsitySummaries(str(tmp_path))], steps=10, validation=True)
    assert tracker.best_iteration in (10, 20) and np.isfinite(tracker.best_loss)
    assert glob.glob(f"{tmp_path}/events.out.tfevents.*")
