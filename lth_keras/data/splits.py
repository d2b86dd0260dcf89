"""The stored arrays of a dataset's train / validation / test splits."""
import dataclasses

import numpy as np

from lth_keras.data.normalization import Normalization

SPLITS = ("train", "validation", "test")
# How each split's arrays are named in an .npz file (and in messages).
ARRAY_NAMES = {"train": ("x_train", "y_train"), "validation": ("x_val", "y_val"),
               "test": ("x_test", "y_test")}


class DatasetError(ValueError):
    """A dataset that cannot be read, or whose arrays are not a dataset; the
    message names the dataset (its file) and the array."""


@dataclasses.dataclass
class Splits:
    """(images, labels) per split, images as stored (e.g. uint8), NHWC."""

    train: tuple
    validation: tuple
    test: tuple
    num_classes: int
    normalization: Normalization


def check_arrays(where, arrays, num_classes=None):
    """Raises DatasetError unless ``arrays`` (``{name: array}``, names as in
    :data:`ARRAY_NAMES`) are a dataset: numbers, as many labels as images per
    split, one image shape, finite pixels, integer labels in [0, num_classes).

    ``where`` names the dataset in the message (its file, or its name).
    """
    shapes = {}
    for split, (x_name, y_name) in ARRAY_NAMES.items():
        if x_name not in arrays:
            continue
        x, y = np.asarray(arrays[x_name]), np.asarray(arrays[y_name])
        if not (np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)):
            raise DatasetError(f"{where}: {x_name} holds {x.dtype} values; expected integer "
                               "or float pixels.")
        if x.ndim < 2:
            raise DatasetError(f"{where}: {x_name} has shape {x.shape}; expected one example "
                               "per row, (examples, height, width[, channels]).")
        if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
            raise DatasetError(f"{where}: {y_name} must be a 1-D integer array (class indices), "
                               f"got shape {y.shape} dtype {y.dtype}.")
        if len(x) != len(y):
            raise DatasetError(f"{where}: {x_name} has {len(x)} examples but {y_name} {len(y)}.")
        if split != "validation" and not len(y):
            raise DatasetError(f"{where}: {x_name} has no examples.")
        shapes[x_name] = x.shape[1:]
        if np.issubdtype(x.dtype, np.floating) and not np.isfinite(x).all():
            bad = int(np.count_nonzero(~np.isfinite(x)))
            raise DatasetError(f"{where}: {x_name} has {bad} non-finite pixel values (nan or inf).")
        low, high = (int(y.min()), int(y.max())) if len(y) else (0, 0)
        if low < 0 or (num_classes is not None and high >= num_classes):
            expected = ">= 0" if num_classes is None else f"in [0, {num_classes})"
            raise DatasetError(f"{where}: {y_name} holds labels from {low} to {high}; expected "
                               f"class indices {expected}.")
    first = next(iter(shapes), None)
    for name, shape in shapes.items():
        if shape != shapes[first]:
            raise DatasetError(f"{where}: {name} has images of shape {shape} but {first} "
                               f"{shapes[first]}.")


def check_splits(where, splits):
    """:func:`check_arrays` of a loaded :class:`Splits`."""
    arrays = {}
    for split, names in ARRAY_NAMES.items():
        arrays.update(zip(names, getattr(splits, split)))
    check_arrays(where, arrays, splits.num_classes)


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
