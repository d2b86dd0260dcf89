"""Corrupted training data for the sanity checks of Su et al. (2020).

"Sanity-Checking Pruning Methods: Random Tickets can Win the Jackpot":
pruning at initialization is run on corrupted data; a method whose masks are
as good as on clean data does not use the data. The corruption here is the
one they use: random labels plus the pixels of each image permuted by its own
random permutation (Zhang et al., 2017, "random pixels").
"""
import numpy as np

CORRUPTIONS = (None, "random_labels_shuffled_pixels")
_SALT = 2  # each transform draws from its own stream of the load seed


def random_labels_shuffled_pixels(images, labels, num_classes, seed):
    """Returns (images, labels): uniform random labels, per-image pixel shuffles.

    A pixel is a position (row, column); its channels move together.
    """
    rng = np.random.default_rng([seed, _SALT])
    n = len(images)
    flat = images.reshape(n, -1, images.shape[-1] if images.ndim == 4 else 1)
    permutations = rng.permuted(np.tile(np.arange(flat.shape[1]), (n, 1)), axis=1)
    shuffled = np.take_along_axis(flat, permutations[:, :, None], axis=1)
    random_labels = rng.integers(0, num_classes, size=n).astype(labels.dtype)
    return shuffled.reshape(images.shape), random_labels


def check_argument(corruption):
    if corruption not in CORRUPTIONS:
        raise ValueError(f"corruption must be one of {CORRUPTIONS}, got {corruption!r}")
