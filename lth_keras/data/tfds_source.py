"""TFDS datasets ("tfds:mnist", "tfds:cifar10", ...), read without downloading.

The standard train and test splits are used; validation is the last
`validation_size` examples of train (default 5,000, the held-out set size of
Frankle & Carbin, 2019). lth_keras never downloads at run time: a dataset
that is not prepared under `data_dir` raises DatasetNotPreparedError.
"""
import re

import numpy as np

from lth_keras.data import normalization, splits
from lth_keras.data.splits import DatasetError

DEFAULT_VALIDATION_SIZE = 5000
_READ_BATCH = 10_000
# "<namespace>:<name>" (a community dataset, fetched from its hub); a version
# follows the name instead: "mnist:3.0.1".
_NAMESPACED = re.compile(r"^[^:/]+:[^\d*]")


class DatasetNotPreparedError(DatasetError):
    """A TFDS dataset is not prepared in data_dir; it says how to prepare it."""


def check_name(name):
    """Raises DatasetError for a TFDS name that can never be read offline:
    empty, or in a namespace (community datasets are fetched from a hub)."""
    if not name.strip():
        raise DatasetError("tfds:: expected tfds:<name>, e.g. tfds:mnist.")
    if _NAMESPACED.match(name):
        raise DatasetError(
            f"tfds:{name}: '{name.split(':')[0]}' is a TFDS community namespace, read from "
            "its hub over the network; lth_keras does not download at run time. Convert the "
            "data to an .npz file (x_train, y_train, x_test, y_test) and pass its path.")


def load_splits(name, data_dir=None, validation_size=None):
    check_name(name)
    import tensorflow_datasets as tfds  # slow import, only when TFDS is used

    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError:
        raise DatasetError(f"tfds:{name}: TFDS has no dataset {name!r}") from None
    except (ValueError, ImportError) as error:  # a malformed name or config
        first = str(error).strip().splitlines()[0]
        raise DatasetError(f"tfds:{name}: TFDS cannot build it ({first})") from None
    if not builder.info.supervised_keys:
        raise DatasetError(f"tfds:{name}: the dataset has no (image, label) "
                           "supervised keys")
    num_classes = builder.info.features[builder.info.supervised_keys[1]].num_classes
    train = _read(builder, name, "train", tfds)
    test = _read(builder, name, "test", tfds)
    size = DEFAULT_VALIDATION_SIZE if validation_size is None else validation_size
    train, validation = splits.carve_validation(*train, size)
    return splits.Splits(
        train=train, validation=validation, test=test, num_classes=num_classes,
        normalization=normalization.for_dataset(builder.name, train[0].dtype))


def _read(builder, name, split, tfds):
    """The whole split as numpy (images NHWC, int32 labels)."""
    try:
        examples = builder.as_dataset(split=split, as_supervised=True)
    except AssertionError:  # how TFDS says "not prepared"
        raise DatasetNotPreparedError(
            not_prepared_message(name, builder.data_dir)) from None
    # Large fixed batches: batch_size=-1 breaks under tfds.testing.mock_data.
    batches = list(tfds.as_numpy(examples.batch(_READ_BATCH)))
    images = np.concatenate([x for x, _ in batches])
    labels = np.concatenate([y for _, y in batches])
    return splits.as_images(images), splits.as_labels(labels)


def not_prepared_message(name, where):
    return (f"TFDS dataset {name!r} is not prepared in {where}, and lth_keras does "
            "not download at run time. Prepare it on a machine with network, "
            f"e.g. `tfds build {name} --data_dir=DIR`, copy DIR here and pass "
            "data_dir=DIR (--data_dir=DIR); or pass the data_dir where it is "
            "already prepared.")
