"""SNIP scores against |g * w| computed by hand with a GradientTape."""

import keras
import numpy as np
import tensorflow as tf

import lth_keras
from lth_keras.pruning import CRITERIA, prunable_weights
from lth_keras.pruning.saliency import Snip

import helpers


def _tiny():
    return lth_keras.wrap(keras.Sequential([
        keras.Input((6,)),
        keras.layers.Dense(5, activation="tanh", name="fc"),
        keras.layers.BatchNormalization(name="bn"),
        keras.layers.Dense(3, name="output"),
    ]))


def test_snip_equals_abs_gradient_times_weight_normalised():
    model = _tiny()
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(12, 6)).astype(np.float32), np.arange(12) % 3
    targets = prunable_weights(model)
    with tf.GradientTape() as tape:
        # Training-mode BatchNorm, as SNIP scores; the moving statistics this
        # call updates are restored below so the criterion sees theta_0.
        snapshot = [v.numpy() for v in model.non_trainable_variables]
        logits = model(x, training=True)
        loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True))
    grads = tape.gradient(loss, [t.kernel for t in targets])
    for v, value in zip(model.non_trainable_variables, snapshot):
        v.assign(value)
    by_hand = [np.abs(g.numpy() * t.kernel.numpy()) for g, t in zip(grads, targets)]
    total = sum(s.sum() for s in by_hand)

    scores = Snip(x, y).scores(model, targets)
    for t, expected in zip(targets, by_hand):
        np.testing.assert_allclose(scores[t.path], expected / total, rtol=1e-4, atol=1e-9)
    assert abs(sum(s.sum() for s in scores.values()) - 1.0) < 1e-5


def test_snip_changes_nothing_in_the_model_and_chunks_agree():
    model = lth_keras.wrap(helpers.small_cnn())
    bn = model.get_layer("bn1")
    bn.moving_mean.assign(np.linspace(-1, 1, 8).astype(np.float32))
    before = [v.numpy().copy() for v in model.weights]
    x, y = helpers.batch((12, 12, 3), n=8), np.arange(8) % 10
    targets = prunable_weights(model)
    whole = Snip(x, y).scores(model, targets)
    for v, value in zip(model.weights, before):
        np.testing.assert_array_equal(v.numpy(), value)
    # Inference-mode BatchNorm makes examples independent: chunks give the same mean.
    one = Snip(x, y, training=False).scores(model, targets)
    chunked = Snip(x, y, batch_size=3, training=False).scores(model, targets)
    for path in whole:
        np.testing.assert_allclose(chunked[path], one[path], rtol=1e-3, atol=1e-8)


def test_registered_names():
    assert CRITERIA["snip"] is Snip
    assert CRITERIA["magnitude_at_init"] is CRITERIA["magnitude"]
