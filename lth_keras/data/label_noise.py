"""Label noise on the training split (He et al., 2022, sparse double descent).

Standard definitions (Patrini et al., 2017):
  symmetric:  exactly round(fraction * n) labels, chosen by seed, each changed
              to a different class drawn uniformly at random.
  asymmetric: in each class that the dataset's class-pair map moves, exactly
              round(fraction * n_c) labels, chosen by seed, are mapped to their
              pair (the noise rate is per source class). Classes the map leaves
              alone keep every label.

Maps: MNIST 2->7, 3->8, 5<->6, 7->1; CIFAR-10 truck->automobile,
bird->airplane, deer->horse, cat<->dog; any other dataset a cyclic c->c+1.
"""
import numpy as np

KINDS = ("symmetric", "asymmetric")
_SALT = 1  # each transform draws from its own stream of the load seed

MNIST_PAIRS = {2: 7, 3: 8, 5: 6, 6: 5, 7: 1}
# CIFAR-10 classes: 0 airplane, 1 automobile, 2 bird, 3 cat, 4 deer, 5 dog,
# 6 frog, 7 horse, 8 ship, 9 truck.
CIFAR10_PAIRS = {9: 1, 2: 0, 4: 7, 3: 5, 5: 3}
PAIRS_BY_DATASET = {"mnist": MNIST_PAIRS, "mnist5k": MNIST_PAIRS,
                    "cifar10": CIFAR10_PAIRS}


def class_pairs(dataset_name, num_classes):
    """The asymmetric map {source: target} for `dataset_name` ("tfds:" ignored)."""
    name = (dataset_name or "").removeprefix("tfds:").split(":")[0].split("/")[0]
    if name in PAIRS_BY_DATASET:
        return PAIRS_BY_DATASET[name]
    return {c: (c + 1) % num_classes for c in range(num_classes)}


def add_label_noise(labels, fraction, kind, num_classes, seed, dataset_name=None):
    """Returns a noisy copy of `labels`; see the module docstring for `kind`."""
    check_arguments(fraction, kind)
    labels = np.asarray(labels)
    noisy = labels.copy()
    rng = np.random.default_rng([seed, _SALT])
    if kind == "symmetric":
        chosen = rng.choice(len(labels), round(fraction * len(labels)), replace=False)
        # An offset in 1..C-1 picks a different class uniformly.
        offsets = rng.integers(1, num_classes, size=len(chosen))
        noisy[chosen] = (labels[chosen] + offsets) % num_classes
        return noisy
    for source, target in sorted(class_pairs(dataset_name, num_classes).items()):
        members = np.flatnonzero(labels == source)
        chosen = rng.choice(members, round(fraction * len(members)), replace=False)
        noisy[chosen] = target
    return noisy


def check_arguments(fraction, kind):
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"label_noise must be a fraction in [0, 1], got {fraction!r}")
    if kind not in KINDS:
        raise ValueError(f"label_noise_kind must be one of {KINDS}, got {kind!r}")
