"""Standard CIFAR augmentation: pad 4, random crop back, random horizontal flip.

The recipe of He et al. (2016), used for CIFAR-10 by Frankle & Carbin (2019)
and by open_lth. Applied to normalised training batches only; padding uses the
normalised value of a black pixel, as padding the raw image with zeros would.
"""
import tensorflow as tf

PAD = 4


def pad_crop_flip(images, seed, black):
    """Augments a batch `images` (N, H, W, C) with the stateless seed `seed` (2,)."""
    n, height, width = tf.shape(images)[0], tf.shape(images)[1], tf.shape(images)[2]
    padded = tf.pad(images - black, [[0, 0], [PAD, PAD], [PAD, PAD], [0, 0]]) + black
    offsets = tf.random.stateless_uniform(
        [n, 2], seed=seed, maxval=2 * PAD + 1, dtype=tf.int32, alg="philox")
    rows = offsets[:, :1] + tf.range(height)[None, :]
    cols = offsets[:, 1:] + tf.range(width)[None, :]
    cropped = tf.gather(padded, rows, axis=1, batch_dims=1)
    cropped = tf.gather(cropped, cols, axis=2, batch_dims=1)
    flip_seed = tf.random.experimental.stateless_fold_in(seed, 1, alg="philox")
    flip = tf.random.stateless_uniform([n], seed=flip_seed, alg="philox") < 0.5
    return tf.where(flip[:, None, None, None], tf.reverse(cropped, axis=[2]), cropped)
