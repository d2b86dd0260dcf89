"""Common corruptions at severities 1-5, offline, for any image dataset.

Six of the corruptions of Hendrycks & Dietterich 2019 ("Benchmarking Neural
Network Robustness to Common Corruptions and Perturbations"), computed with
TensorFlow image ops on [0, 1] pixels (:mod:`lth_keras.analysis.pixels`), at
the severity levels of their CIFAR-10-C generator. Random corruptions draw
from stateless seeds, so the same seed gives the same corrupted images.

``mean corruption accuracy`` is the accuracy averaged over every corruption
and severity evaluated. When TFDS ``cifar10_corrupted`` is prepared,
:func:`load_cifar10_corrupted` reads the published CIFAR-10-C images instead.
"""

import math

import numpy as np
import tensorflow as tf

from lth_keras.analysis.pixels import PixelSpace
from lth_keras.analysis.predict import accuracy
from lth_keras.data import tfds_source
from lth_keras.registry import Registry

SEVERITIES = (1, 2, 3, 4, 5)
CORRUPTIONS = Registry("corruption")


def register(name):
    """Adds an instance of the decorated Corruption class under ``name``."""
    return CORRUPTIONS.register(name, lambda cls: cls())


class Corruption:
    """A corruption: ``levels[severity - 1]`` is its parameter at that severity."""

    levels = ()

    def apply(self, pixels, level, seed):
        """Corrupts a batch of NHWC [0, 1] ``pixels`` at parameter ``level``."""
        raise NotImplementedError

    def __call__(self, pixels, severity, seed=(0, 0)):
        check_severity(severity)
        pixels = tf.convert_to_tensor(pixels, tf.float32)
        if pixels.shape.rank != 4:
            raise ValueError(f"pixels: expected NHWC images, got shape {pixels.shape}.")
        seed = tf.convert_to_tensor(seed, tf.int64)
        return tf.clip_by_value(self.apply(pixels, self.levels[severity - 1], seed), 0.0, 1.0)


@register("gaussian_noise")
class GaussianNoise(Corruption):
    """x + N(0, sigma^2)."""

    levels = (0.04, 0.06, 0.08, 0.09, 0.10)

    def apply(self, pixels, level, seed):
        return pixels + level * tf.random.stateless_normal(tf.shape(pixels), seed)


@register("shot_noise")
class ShotNoise(Corruption):
    """Poisson(x * photons) / photons."""

    levels = (500, 250, 100, 75, 50)

    def apply(self, pixels, level, seed):
        return tf.random.stateless_poisson(tf.shape(pixels), seed, pixels * level) / level


@register("impulse_noise")
class ImpulseNoise(Corruption):
    """Salt and pepper: a fraction ``level`` of values set to 0 or 1, half each."""

    levels = (0.01, 0.02, 0.03, 0.05, 0.07)

    def apply(self, pixels, level, seed):
        u = tf.random.stateless_uniform(tf.shape(pixels), seed)
        return tf.where(u < level / 2, 0.0, tf.where(u < level, 1.0, pixels))


@register("gaussian_blur")
class GaussianBlur(Corruption):
    """Gaussian filter of standard deviation ``level`` pixels, truncated at 4
    sigma, edges extended by their nearest pixel (as skimage's default)."""

    levels = (0.4, 0.6, 0.7, 0.8, 1.0)

    def apply(self, pixels, level, seed):
        radius = math.ceil(4 * level)
        taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / level) ** 2)
        taps = (taps / taps.sum()).astype(np.float32)
        channels = pixels.shape[-1]
        for axis, shape in ((1, (-1, 1, 1, 1)), (2, (1, -1, 1, 1))):
            size = tf.shape(pixels)[axis]
            nearest = tf.clip_by_value(tf.range(-radius, size + radius), 0, size - 1)
            padded = tf.gather(pixels, nearest, axis=axis)
            kernel = tf.tile(tf.reshape(taps, shape), [1, 1, channels, 1])
            pixels = tf.nn.depthwise_conv2d(padded, kernel, [1, 1, 1, 1], "VALID")
        return pixels


@register("contrast")
class Contrast(Corruption):
    """(x - mean) * level + mean, the mean per image and channel."""

    levels = (0.75, 0.5, 0.4, 0.3, 0.15)

    def apply(self, pixels, level, seed):
        return tf.image.adjust_contrast(pixels, level)


@register("brightness")
class Brightness(Corruption):
    """HSV value + ``level`` (clipped to 1); grey images: the pixel itself + ``level``."""

    levels = (0.05, 0.1, 0.15, 0.2, 0.3)

    def apply(self, pixels, level, seed):
        if pixels.shape[-1] != 3:
            return pixels + level
        hsv = tf.image.rgb_to_hsv(pixels)
        value = tf.clip_by_value(hsv[..., 2:] + level, 0.0, 1.0)
        return tf.image.hsv_to_rgb(tf.concat([hsv[..., :2], value], -1))


def check_severity(severity):
    if severity not in SEVERITIES:
        raise ValueError(f"severity: expected one of {SEVERITIES}, got {severity!r}.")


def check_names(names, flag="corruptions"):
    for name in names:
        if name not in CORRUPTIONS:
            raise ValueError(f"--{flag}: unknown corruption {name!r}; "
                             f"expected any of {sorted(CORRUPTIONS)}.")


def corrupt(inputs, name, severity, pixels=None, seed=0, batch_size=1000):
    """Model inputs corrupted by ``name`` at ``severity`` (numpy, in batches).

    Args:
      inputs: normalised model inputs, NHWC.
      pixels: their :class:`PixelSpace` (default: inputs are [0, 1] pixels).
      seed: the corruption's seed; each batch draws from its own stream.
    """
    check_names([name], "name")
    pixels = pixels or PixelSpace()
    corruption = CORRUPTIONS[name]
    out = []
    for i in range(0, len(inputs), batch_size):
        clean = pixels.to_pixels(np.asarray(inputs[i:i + batch_size], np.float32))
        out.append(pixels.to_inputs(corruption(clean, severity, (seed, i)).numpy()))
    return np.concatenate(out).astype(np.float32)


def corruption_accuracies(model, inputs, labels, names=tuple(CORRUPTIONS), severities=SEVERITIES,
                          pixels=None, seed=0, batch_size=500):
    """``{"<corruption>_<severity>": accuracy}`` and their mean under ``"mean"``."""
    check_names(names, "names")
    for severity in severities:
        check_severity(severity)
    out = {}
    for name in names:
        for severity in severities:
            corrupted = corrupt(inputs, name, severity, pixels, seed, batch_size)
            out[f"{name}_{severity}"] = accuracy(model, corrupted, labels, batch_size)
    out["mean"] = float(np.mean(list(out.values())))
    return out


# TFDS cifar10_corrupted ----------------------------------------------------

TFDS_CIFAR10_CORRUPTED = "cifar10_corrupted"


def cifar10_corrupted_examples(name, severity, data_dir=None):
    """The tf.data test split of TFDS ``cifar10_corrupted/<name>_<severity>``.

    Raises:
      DatasetNotPreparedError: the dataset is not prepared under ``data_dir``
        (lth_keras never downloads at run time).
    """
    import tensorflow_datasets as tfds  # slow import, only when TFDS is used

    check_severity(severity)
    config = f"{TFDS_CIFAR10_CORRUPTED}/{name}_{severity}"
    try:
        builder = tfds.builder(config, data_dir=data_dir)
    except (ValueError, tfds.core.registered.DatasetNotFoundError):
        raise ValueError(f"name: TFDS {TFDS_CIFAR10_CORRUPTED} has no corruption {name!r}.") from None
    try:
        return builder.as_dataset(split="test", as_supervised=True)
    except AssertionError:  # how TFDS says "not prepared"
        raise tfds_source.DatasetNotPreparedError(
            tfds_source.not_prepared_message(config, builder.data_dir)) from None


def load_cifar10_corrupted(name, severity, data_dir=None):
    """The published CIFAR-10-C test images (uint8 NHWC) and int32 labels of one
    corruption and severity, from a prepared TFDS ``cifar10_corrupted``.

    Normalise them as the model's training data, e.g.
    ``load("tfds:cifar10").normalization.numpy(images)``.
    """
    import tensorflow_datasets as tfds

    examples = cifar10_corrupted_examples(name, severity, data_dir)
    images, labels = [], []
    for x, y in tfds.as_numpy(examples.batch(10_000)):
        images.append(x)
        labels.append(y)
    return np.concatenate(images), np.concatenate(labels).astype(np.int32)
