"""synthetic: a small, learnable, seed-determined dataset for fast tests.

Each of 10 classes has a prototype, a random 7x7 binary pattern upsampled to
28x28; an example is its class prototype plus Gaussian noise, clipped to
[0, 1] and stored as uint8 like MNIST. A small network learns it in a few
epochs, so tests can check that training does something.
"""
import numpy as np

from lth_keras.data import normalization, splits

NUM_CLASSES = 10
SIZES = {"train": 600, "validation": 100, "test": 200}
NOISE_STD = 0.3
_SALT = 0  # each transform draws from its own stream of the load seed


def load_splits(seed, validation_size=None):
    rng = np.random.default_rng([seed, _SALT])
    sizes = dict(SIZES)
    if validation_size is not None:
        if validation_size < 0:
            raise ValueError(f"validation_size must be >= 0, got {validation_size}")
        sizes["validation"] = validation_size
    coarse = rng.random((NUM_CLASSES, 7, 7)) < 0.5
    prototypes = np.kron(coarse, np.ones((4, 4))).astype(np.float32)
    parts = {}
    for split, size in sizes.items():
        labels = rng.permutation(np.arange(size) % NUM_CLASSES).astype(np.int32)
        images = prototypes[labels] + NOISE_STD * rng.standard_normal((size, 28, 28))
        images = np.round(255 * np.clip(images, 0.0, 1.0)).astype(np.uint8)
        parts[split] = (images[..., None], labels)
    return splits.Splits(**parts, num_classes=NUM_CLASSES,
                         normalization=normalization.UNIT_INTERVAL)
