"""The callback in a plain model.fit, with steps_per_execution > 1."""

import keras
import numpy as np

import lth_keras
from helpers import lenet
from lth_keras.pruning.at_init import prune_at_init
from lth_keras.sparse_training import METHODS, DynamicSparsityCallback, UpdateSchedule


def _batches(x, y, size=60):
    while True:
        for i in range(0, len(y), size):
            yield x[i:i + size], y[i:i + size]


def test_rigl_in_fit_updates_at_execution_boundaries_with_exact_counts():
    rng = np.random.default_rng(0)
    x, y = rng.random((600, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, 600)
    model = lth_keras.wrap(lenet())
    prune_at_init(model, "erk_random", 0.9, seed=0)
    before = lth_keras.layer_densities(model)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(keras.optimizers.Adam(1e-3), loss, steps_per_execution=4, jit_compile=True)
    schedule = UpdateSchedule(end=30, delta_t=10)
    callback = DynamicSparsityCallback(METHODS["rigl"](), schedule, _batches(x, y), loss)
    model.fit(x, y, batch_size=60, epochs=4, verbose=0, callbacks=[callback])
    # Steps 10 and 20 are applied at the end of the compiled calls that ran past
    # them; updates stop before step 30 (the schedule's end).
    assert [h["step"] for h in callback.history] == [10, 20]
    assert all(sum(g for _, g, _ in h["layers"].values()) > 0 for h in callback.history)
    assert lth_keras.layer_densities(model) == before
    for path, mask in lth_keras.get_masks(model).items():
        kernel = model.get_layer(path.split("/")[0]).kernel.numpy()
        assert np.all(kernel[~mask.astype(bool)] == 0)
    assert callback.method.itop_rate()[0] > lth_keras.density(model)


def _rigl_masks(strategy):
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x, y = rng.random((600, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, 600)
    with strategy.scope():
        model = lth_keras.wrap(lenet())
        prune_at_init(model, "erk_random", 0.9, seed=0)
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        model.compile(keras.optimizers.SGD(0.05), loss)
    callback = DynamicSparsityCallback(METHODS["rigl"](), UpdateSchedule(end=30, delta_t=10),
                                       _batches(x, y), loss)
    model.fit(x, y, batch_size=60, epochs=3, verbose=0, callbacks=[callback], shuffle=False)
    return lth_keras.get_masks(model), [h["step"] for h in callback.history]


def test_mirrored_strategy_gives_the_single_device_masks():
    import tensorflow as tf

    single, steps = _rigl_masks(tf.distribute.get_strategy())
    mirrored, mirrored_steps = _rigl_masks(tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))
    assert steps == mirrored_steps == [10, 20]
    # Gradients are averaged in another order: a weight at a threshold may flip.
    assert lth_keras.jaccard(single, mirrored) >= 0.999
