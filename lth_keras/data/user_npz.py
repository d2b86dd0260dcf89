"""User arrays in an .npz file: x_train, y_train, x_test, y_test, optionally
x_val, y_val.

Without x_val / y_val, validation is the last `validation_size` training
examples (default 10% of them). Integer images are scaled to [0, 1]; float
images are used as stored. Labels are class indices; the number of classes is
the largest label + 1.
"""
import numpy as np

from lth_keras.data import normalization, splits

REQUIRED = ("x_train", "y_train", "x_test", "y_test")
DEFAULT_VALIDATION_FRACTION = 0.1


def load_splits(path, validation_size=None):
    with np.load(path) as stored:
        missing = [k for k in REQUIRED if k not in stored]
        if missing:
            raise ValueError(f"{path} lacks arrays {missing}; expected keys "
                             f"{REQUIRED} and optionally x_val, y_val")
        arrays = {k: stored[k] for k in stored.files}
    train = splits.as_images(arrays["x_train"]), splits.as_labels(arrays["y_train"])
    test = splits.as_images(arrays["x_test"]), splits.as_labels(arrays["y_test"])
    if "x_val" in arrays and "y_val" in arrays:
        if validation_size is not None:
            raise ValueError(f"validation_size must be None: {path} has its "
                             f"own x_val, y_val; got {validation_size}")
        validation = splits.as_images(arrays["x_val"]), splits.as_labels(arrays["y_val"])
    else:
        if validation_size is None:
            validation_size = round(DEFAULT_VALIDATION_FRACTION * len(train[1]))
        train, validation = splits.carve_validation(*train, validation_size)
    num_classes = int(max(y.max(initial=0) for _, y in (train, validation, test))) + 1
    return splits.Splits(
        train=train, validation=validation, test=test, num_classes=num_classes,
        normalization=normalization.for_dataset(None, train[0].dtype))
