"""Pixel normalisation: how stored images become the float32 a model sees."""
import dataclasses

import numpy as np
import tensorflow as tf


@dataclasses.dataclass(frozen=True)
class Normalization:
    """`(x / scale - mean) / std`, with `mean` and `std` per channel."""

    scale: float = 255.0
    mean: tuple = (0.0,)
    std: tuple = (1.0,)

    def numpy(self, images):
        images = np.asarray(images, np.float32) / np.float32(self.scale)
        return ((images - np.float32(self.mean)) / np.float32(self.std)).astype(np.float32)

    def tensor(self, images):
        images = tf.cast(images, tf.float32) / self.scale
        return (images - np.float32(self.mean)) / np.float32(self.std)

    @property
    def black(self):
        """The normalised value of a 0 pixel, per channel (pads crops)."""
        return -np.float32(self.mean) / np.float32(self.std)


# MNIST-like data in [0, 1], as in Frankle & Carbin (2019).
UNIT_INTERVAL = Normalization()
# For user arrays already stored as floats.
IDENTITY = Normalization(scale=1.0)
# Per-channel statistics of the CIFAR training sets (Krizhevsky, 2009).
CIFAR10 = Normalization(255.0, (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616))
CIFAR100 = Normalization(255.0, (0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762))

BY_DATASET = {"cifar10": CIFAR10, "cifar100": CIFAR100}


def for_dataset(name, dtype):
    """The normalisation of dataset `name` whose images are stored as `dtype`."""
    if name in BY_DATASET:
        return BY_DATASET[name]
    return UNIT_INTERVAL if np.issubdtype(dtype, np.integer) else IDENTITY
