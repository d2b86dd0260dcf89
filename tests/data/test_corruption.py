"""Su et al. (2020) corrupted data: random labels, each image's pixels permuted."""
import numpy as np
import pytest

from lth_keras.data import load
from lth_keras.data.corruption import random_labels_shuffled_pixels


def test_each_image_keeps_its_pixels_in_a_new_order():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(50, 5, 5, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, size=50).astype(np.int32)
    shuffled, random_labels = random_labels_shuffled_pixels(images, labels, 10, seed=0)
    flat, flat_shuffled = images.reshape(50, 25, 3), shuffled.reshape(50, 25, 3)
    for before, after in zip(flat, flat_shuffled):
        # Same multiset of pixels, and a pixel's channels moved together.
        assert sorted(map(tuple, before)) == sorted(map(tuple, after))
        assert not np.array_equal(before, after)
    assert random_labels.dtype == labels.dtype
    assert (random_labels != labels).mean() > 0.5


def test_permutations_differ_between_images():
    image = np.arange(16, dtype=np.uint8).reshape(1, 4, 4, 1)
    shuffled, _ = random_labels_shuffled_pixels(np.repeat(image, 2, 0), np.zeros(2, int), 10, 0)
    assert not np.array_equal(shuffled[0], shuffled[1])


def test_load_corrupts_only_the_training_split():
    clean = load("mnist5k")
    corrupted = load("mnist5k", corruption="random_labels_shuffled_pixels", seed=3)
    x, y = corrupted.arrays("train")
    x_clean, y_clean = clean.arrays("train")
    np.testing.assert_array_equal(np.sort(x.reshape(len(x), -1), 1),
                                  np.sort(x_clean.reshape(len(x), -1), 1))
    assert (y != y_clean).mean() > 0.8
    for split in ("validation", "test"):
        np.testing.assert_array_equal(corrupted.arrays(split)[0], clean.arrays(split)[0])
        np.testing.assert_array_equal(corrupted.arrays(split)[1], clean.arrays(split)[1])


def test_unknown_corruption_is_an_error():
    with pytest.raises(ValueError, match="corruption"):
        load("mnist5k", corruption="gaussian_noise")
