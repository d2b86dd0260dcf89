"""The stored arrays of a dataset's train / validation / test splits."""
import dataclasses

import numpy as np

from lth_keras.data.normalization import Normalization

SPLITS = ("train", "validation", "test")


@dataclasses.dataclass
class Splits:
    """(images, labels) per split, images as stored (e.g. uint8), NHWC."""

    train: tuple
    validation: tuple
    test: tuple
    num_classes: int
    normalization: Normalization


def carve_validation(images, labels, size):
    """Splits the last `size` examples off as validation: ((x, y), (x_val, y_val))."""
    if not 0 <= size < len(labels):
        raise ValueError(f"validation_size must be in [0, {len(labels)}) for a "
                         f"training split of {len(labels)} examples, got {size}")
    cut = len(labels) - size
    return (images[:cut], labels[:cut]), (images[cut:], labels[cut:])


def as_images(images):
    """Adds the channel axis to single-channel (N, H, W) images."""
    images = np.asarray(images)
    return images[..., None] if images.ndim == 3 else images


def as_labels(labels):
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be a 1-D integer array (class indices), "
                         f"got shape {labels.shape} dtype {labels.dtype}")
    return labels.astype(np.int32)
