import keras
import numpy as np
import pytest
import tensorflow as tf

import lth_keras
from lth_keras import layers as lk
from helpers import batch, lenet, small_cnn

CASES = [
    (lk.MaskedDense, keras.layers.Dense, dict(units=5), (7,)),
    (lk.MaskedConv1D, keras.layers.Conv1D, dict(filters=4, kernel_size=3), (9, 2)),
    (lk.MaskedConv2D, keras.layers.Conv2D, dict(filters=4, kernel_size=3, groups=2), (6, 6, 4)),
    (lk.MaskedConv3D, keras.layers.Conv3D, dict(filters=2, kernel_size=2), (4, 4, 4, 1)),
    (lk.MaskedDepthwiseConv2D, keras.layers.DepthwiseConv2D, dict(kernel_size=3, depth_multiplier=2), (6, 6, 3)),
    (lk.MaskedSeparableConv2D, keras.layers.SeparableConv2D, dict(filters=4, kernel_size=3), (6, 6, 3)),
]


@pytest.mark.parametrize("masked_cls, plain_cls, kwargs, shape", CASES)
def test_forward_uses_kernel_times_mask(masked_cls, plain_cls, kwargs, shape):
    x = batch(shape)
    masked = masked_cls(**kwargs, bias_initializer="glorot_uniform")
    masked(x)
    plain = plain_cls(**kwargs)
    plain(x)
    rng = np.random.default_rng(1)
    folded = []
    for name, kernel, mask in masked.kernel_and_mask():
        m = (rng.random(kernel.shape) > 0.5).astype("float32")
        mask.assign(m)  # kernel entries under the mask are left nonzero on purpose
        folded.append(kernel.numpy() * m)
    plain.set_weights(folded + [masked.bias.numpy()])
    np.testing.assert_allclose(masked(x), plain(x), atol=1e-6)


def _pruned_lenet(optimizer):
    model = lth_keras.wrap(lenet())
    lth_keras.prune(model, 0.7)
    model.compile(optimizer=optimizer, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


@pytest.mark.parametrize(
    "optimizer",
    [
        lambda: keras.optimizers.SGD(0.1, momentum=0.9),
        lambda: keras.optimizers.Adam(1e-3),
        lambda: keras.optimizers.AdamW(1e-3, weight_decay=0.1),
    ],
    ids=["sgd_momentum", "adam", "adamw"],
)
def test_pruned_entries_stay_exactly_zero_for_50_steps(optimizer):
    model = _pruned_lenet(optimizer())
    x, y = batch((28, 28, 1), n=50 * 8), np.random.default_rng(0).integers(0, 10, 400)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert model.optimizer.iterations.numpy() == 50
    for t in lth_keras.prunable_weights(model):
        kernel, mask = t.kernel.numpy(), t.mask.numpy()
        assert np.all(kernel[mask == 0] == 0)
        assert np.any(kernel[mask == 1] != 0)


def test_pruning_mid_training_with_momentum_keeps_zeros():
    # Momentum built before pruning would move pruned weights without the constraint.
    model = lth_keras.wrap(lenet())
    opt = keras.optimizers.SGD(0.1, momentum=0.9)
    x, y = batch((28, 28, 1), n=16), np.arange(16) % 10
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def step():
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables))

    for _ in range(5):
        step()
    lth_keras.prune(model, 0.5)
    for _ in range(5):
        step()
    for t in lth_keras.prunable_weights(model):
        assert np.all(t.kernel.numpy()[t.mask.numpy() == 0] == 0)


def test_keras_file_round_trip_is_bit_identical(tmp_path):
    model = lth_keras.wrap(small_cnn())
    lth_keras.prune(model, 0.6)
    path = tmp_path / "ticket.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    x = batch((12, 12, 3))
    np.testing.assert_array_equal(model(x), loaded(x))
    for path_, mask in lth_keras.get_masks(model).items():
        np.testing.assert_array_equal(lth_keras.get_masks(loaded)[path_], mask)


def test_savedmodel_export(tmp_path):
    model = lth_keras.wrap(lenet())
    lth_keras.prune(model, 0.5)
    model.export(str(tmp_path / "exported"), verbose=False)
    reloaded = tf.saved_model.load(str(tmp_path / "exported"))
    x = batch((28, 28, 1))
    np.testing.assert_allclose(reloaded.serve(x), model(x), atol=1e-6)
