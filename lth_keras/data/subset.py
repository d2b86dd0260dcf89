"""A seeded, class-stratified subset of the training split.

Su et al. (2020) check pruning-at-initialization methods by pruning with half
the training data (`train_fraction=0.5`); stratifying keeps the classes
balanced as they were.
"""
import numpy as np

_SALT = 3  # each transform draws from its own stream of the load seed


def stratified_subset(labels, fraction, seed):
    """Indices (in their original order) of round(fraction * n_c) of each class c."""
    check_argument(fraction)
    rng = np.random.default_rng([seed, _SALT])
    kept = [rng.choice(members, round(fraction * len(members)), replace=False)
            for members in (np.flatnonzero(labels == c) for c in np.unique(labels))]
    return np.sort(np.concatenate(kept))


def check_argument(fraction):
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"train_fraction must be in (0, 1], got {fraction!r}")
