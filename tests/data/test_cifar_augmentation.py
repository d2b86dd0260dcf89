"""Pad-crop-flip: every output is a shifted, maybe flipped, padded input."""
import numpy as np
import tensorflow as tf

from lth_keras.data import load
from lth_keras.data.augmentation import PAD, pad_crop_flip


def is_shift_or_flipped_shift(augmented, image, black):
    height, width = image.shape[:2]
    padded = np.pad(image - black, ((PAD, PAD), (PAD, PAD), (0, 0))) + black
    for dy in range(2 * PAD + 1):
        for dx in range(2 * PAD + 1):
            crop = padded[dy:dy + height, dx:dx + width]
            if np.allclose(augmented, crop) or np.allclose(augmented, crop[:, ::-1]):
                return True
    return False


def test_outputs_are_padded_crops_or_their_mirror_images():
    images = np.random.default_rng(0).normal(size=(16, 6, 6, 3)).astype(np.float32)
    black = np.float32([-1.0, -2.0, -3.0])
    out = pad_crop_flip(tf.constant(images), tf.constant([0, 1], tf.int64), black).numpy()
    assert out.shape == images.shape
    assert all(is_shift_or_flipped_shift(o, i, black) for o, i in zip(out, images))
    assert not np.allclose(out, images)  # some image moved or flipped


def test_same_seed_same_augmentation():
    images = tf.random.stateless_normal([4, 8, 8, 3], seed=[1, 2])
    a = pad_crop_flip(images, tf.constant([3, 4], tf.int64), 0.0)
    b = pad_crop_flip(images, tf.constant([3, 4], tf.int64), 0.0)
    c = pad_crop_flip(images, tf.constant([3, 5], tf.int64), 0.0)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_only_training_batches_are_augmented():
    plain = load("synthetic", validation_size=20)
    augmented = load("synthetic", validation_size=20, augment=True)
    take = lambda d: next(iter(d.train(64, seed=0)))[0].numpy()  # noqa: E731
    assert not np.array_equal(take(plain), take(augmented))
    np.testing.assert_array_equal(take(augmented), take(augmented))
    x_val = np.concatenate([x for x, _ in augmented.validation(32)])
    np.testing.assert_array_equal(x_val, plain.arrays("validation")[0])
