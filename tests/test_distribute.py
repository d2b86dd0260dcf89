import keras
import numpy as np
import tensorflow as tf

import lth_keras
from helpers import batch, lenet


def _replica_values(var, strategy):
    return [v.numpy() for v in strategy.experimental_local_results(var.value)]


def test_masked_training_under_mirrored_strategy():
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    assert strategy.num_replicas_in_sync == 2
    with strategy.scope():
        model = lth_keras.wrap(lenet())
        model.compile(
            optimizer=keras.optimizers.SGD(0.1, momentum=0.9),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
    x, y = batch((28, 28, 1), n=64), np.arange(64) % 10
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    # Masks set outside fit reach every replica.
    lth_keras.prune(model, 0.8)
    for t in lth_keras.prunable_weights(model):
        first, second = _replica_values(t.mask, strategy)
        np.testing.assert_array_equal(first, second)
    model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    for t in lth_keras.prunable_weights(model):
        masks = _replica_values(t.mask, strategy)
        for kernel in _replica_values(t.kernel, strategy):
            assert np.all(kernel[masks[0] == 0] == 0)
    assert abs(lth_keras.density(model) - 0.2) < 1e-6
