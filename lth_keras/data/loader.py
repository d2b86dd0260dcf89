"""`load(name, ...)`: the single entry point from a dataset name to a Dataset."""
import dataclasses

from lth_keras.data import (corruption as corruption_lib, label_noise as noise_lib,
                            mnist5k, subset, synthetic, tfds_source, user_npz)
from lth_keras.data.dataset import Dataset
from lth_keras.data.splits import DatasetError, Splits, check_splits
from lth_keras.registry import Registry

# The named offline datasets: name -> ``load_splits(seed, validation_size)``;
# ``tfds:<name>`` and ``.npz`` paths are read by their own sources.
DATASETS = Registry("dataset")
DATASETS.add("mnist5k", lambda seed, validation_size: mnist5k.load_splits(validation_size))
DATASETS.add("synthetic", synthetic.load_splits)
ACCEPTED = ("'mnist5k' (bundled, offline), 'synthetic' (for tests), "
            "'tfds:<name>' (e.g. 'tfds:mnist', 'tfds:cifar10'), "
            "or a path ending in '.npz'")


def load(name, *, data_dir=None, seed=0, label_noise=0.0,
         label_noise_kind="symmetric", corruption=None, train_fraction=1.0,
         augment=False, validation_size=None):
    """Returns the Dataset `name`; see ACCEPTED for the names.

    The training split is transformed in this order, each step seeded by `seed`:
    `train_fraction` (class-stratified subset, Su et al. 2020), `label_noise`
    of `label_noise_kind` (He et al. 2022), `corruption` (Su et al. 2020).
    Validation and test are never transformed. `augment` applies the standard
    CIFAR pad-crop-flip to training batches. `validation_size` is carved from
    the end of train (TFDS default 5,000; .npz default 10%; synthetic 100;
    mnist5k has a fixed split and takes None). `data_dir` is TFDS's.
    """
    check_name(name)
    noise_lib.check_arguments(label_noise, label_noise_kind)
    corruption_lib.check_argument(corruption)
    subset.check_argument(train_fraction)
    if validation_size is not None and (not isinstance(validation_size, int)
                                        or validation_size < 0):
        raise ValueError(f"validation_size must be None or an int >= 0, "
                         f"got {validation_size!r}")
    splits = _read(name, data_dir, seed, validation_size)
    check_splits(name, splits)
    images, labels = splits.train
    if train_fraction < 1.0:
        kept = subset.stratified_subset(labels, train_fraction, seed)
        images, labels = images[kept], labels[kept]
    if label_noise > 0.0:
        labels = noise_lib.add_label_noise(labels, label_noise, label_noise_kind,
                                           splits.num_classes, seed, name)
    if corruption == "random_labels_shuffled_pixels":
        images, labels = corruption_lib.random_labels_shuffled_pixels(
            images, labels, splits.num_classes, seed)
    return Dataset(name, dataclasses.replace(splits, train=(images, labels)),
                   augment=augment)


def check_name(name):
    """Raises DatasetError for a dataset name that cannot be loaded, before
    anything is read: unknown, a TFDS name that needs the network, or an .npz
    path that is not a file."""
    if not isinstance(name, str):
        raise DatasetError(f"name must be a string: one of {ACCEPTED}; got {name!r}")
    if name in DATASETS:
        return
    if name.startswith("tfds:") and len(name) > len("tfds:"):
        tfds_source.check_name(name.removeprefix("tfds:"))
    elif name.endswith(".npz"):
        user_npz.check_path(name)
    else:
        raise DatasetError(f"unknown dataset name {name!r}; name must be {ACCEPTED}")


def _read(name, data_dir, seed, validation_size) -> Splits:
    if not isinstance(name, str):
        raise DatasetError(f"name must be a string: one of {ACCEPTED}; got {name!r}")
    if name in DATASETS:
        return DATASETS[name](seed, validation_size)
    if name.startswith("tfds:") and len(name) > len("tfds:"):
        return tfds_source.load_splits(name.removeprefix("tfds:"), data_dir,
                                       validation_size)
    if name.endswith(".npz"):
        return user_npz.load_splits(name, validation_size)
    raise DatasetError(f"unknown dataset name {name!r}; name must be {ACCEPTED}")
