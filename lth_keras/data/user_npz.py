"""User arrays in an .npz file: x_train, y_train, x_test, y_test, optionally
x_val, y_val.

Without x_val / y_val, validation is the last `validation_size` training
examples (default 10% of them). Integer images are scaled to [0, 1]; float
images are used as stored. Labels are class indices; the number of classes is
the largest label + 1. The arrays are checked when read (see
:func:`lth_keras.data.splits.check_arrays`): a bad file raises a DatasetError
naming the file and the array.
"""
import os
import zipfile
import zlib

import numpy as np

from lth_keras.data import normalization, splits
from lth_keras.data.splits import DatasetError

REQUIRED = ("x_train", "y_train", "x_test", "y_test")
DEFAULT_VALIDATION_FRACTION = 0.1


def load_splits(path, validation_size=None):
    arrays = read_arrays(path)
    if ("x_val" in arrays) != ("y_val" in arrays):
        raise DatasetError(f"{path}: has only one of x_val, y_val; give both or neither.")
    for key in [k for k in arrays if k.startswith("x_")]:
        arrays[key] = splits.as_images(arrays[key])
    splits.check_arrays(path, arrays)
    train = arrays["x_train"], splits.as_labels(arrays["y_train"])
    test = arrays["x_test"], splits.as_labels(arrays["y_test"])
    if "x_val" in arrays:
        if validation_size is not None:
            raise ValueError(f"validation_size must be None: {path} has its "
                             f"own x_val, y_val; got {validation_size}")
        validation = arrays["x_val"], splits.as_labels(arrays["y_val"])
    else:
        if validation_size is None:
            validation_size = round(DEFAULT_VALIDATION_FRACTION * len(train[1]))
        train, validation = splits.carve_validation(*train, validation_size)
    num_classes = int(max(y.max(initial=0) for _, y in (train, validation, test))) + 1
    return splits.Splits(
        train=train, validation=validation, test=test, num_classes=num_classes,
        normalization=normalization.for_dataset(None, train[0].dtype))


def check_path(path):
    """A DatasetError naming ``path`` if it is missing or not a file."""
    if not os.path.exists(path):
        raise DatasetError(f"{path}: no such file.")
    if not os.path.isfile(path):
        raise DatasetError(f"{path}: is not a file (expected an .npz archive).")


def read_arrays(path):
    """Every array of the .npz file ``path``; a DatasetError naming the file if
    it is missing, not a file, not an .npz archive, or holds pickled objects."""
    check_path(path)
    try:
        stored = np.load(path, allow_pickle=False)
    except ValueError:  # NumPy's guess that an unknown file is a pickle
        raise DatasetError(f"{path}: not an .npz archive (write one with numpy.savez).") from None
    except (OSError, EOFError, zipfile.BadZipFile) as error:
        raise DatasetError(f"{path}: not a readable .npz archive ({error}).") from None
    if not isinstance(stored, np.lib.npyio.NpzFile):
        raise DatasetError(f"{path}: holds a single array; expected an .npz archive of the "
                           f"arrays {REQUIRED} (numpy.savez).")
    with stored:
        missing = [k for k in REQUIRED if k not in stored]
        if missing:
            raise DatasetError(f"{path} lacks arrays {missing}; expected keys "
                               f"{REQUIRED} and optionally x_val, y_val")
        arrays = {}
        for key in stored.files:
            try:
                arrays[key] = stored[key]
            except ValueError:  # NumPy's refusal of a pickled (object) array
                raise DatasetError(f"{path}: {key} holds Python objects; expected a numeric "
                                   "array (lth_keras never loads pickles).") from None
            except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as error:
                raise DatasetError(f"{path}: {key} cannot be read ({error}).") from None
    return arrays
