"""train_fraction: a seeded, class-stratified subset of the training split."""
import numpy as np
import pytest

from lth_keras.data import load
from lth_keras.data.subset import stratified_subset


def rows(x):
    return {bytes(r) for r in x.reshape(len(x), -1)}


def test_half_the_data_keeps_half_of_each_class():
    clean, half = load("mnist5k"), load("mnist5k", train_fraction=0.5, seed=2)
    x, y = half.arrays("train")
    assert half.num_train == 1750
    np.testing.assert_array_equal(np.bincount(y, minlength=10), [175] * 10)
    assert rows(x) <= rows(clean.arrays("train")[0])
    assert half.num_validation == 500 and half.num_test == 1000


def test_subset_is_seeded():
    labels = np.repeat(np.arange(4), 10)
    a, b, c = (stratified_subset(labels, 0.3, seed) for seed in (0, 0, 1))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert np.all(np.diff(a) > 0) and len(a) == 12


@pytest.mark.parametrize("fraction", [0.0, -0.5, 1.5])
def test_fraction_out_of_range_is_an_error(fraction):
    with pytest.raises(ValueError, match="train_fraction"):
        load("mnist5k", train_fraction=fraction)
