"""Label noise flips exactly the requested labels, reproducibly, the standard way."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from lth_keras.data import add_label_noise, load
from lth_keras.data.label_noise import CIFAR10_PAIRS, MNIST_PAIRS, class_pairs

LABELS = np.repeat(np.arange(10), 100)


@settings(max_examples=40, deadline=None)
@given(fraction=st.floats(0, 1), seed=st.integers(0, 2**31), n=st.integers(1, 300))
def test_symmetric_changes_exactly_round_fraction_n(fraction, seed, n):
    labels = np.random.default_rng(seed).integers(0, 10, size=n)
    noisy = add_label_noise(labels, fraction, "symmetric", 10, seed)
    assert (noisy != labels).sum() == round(fraction * n)
    assert noisy.min() >= 0 and noisy.max() < 10


def test_symmetric_targets_are_spread_over_the_other_classes():
    noisy = add_label_noise(LABELS, 1.0, "symmetric", 10, seed=0)
    targets = noisy[LABELS == 0]
    assert 0 not in targets and len(np.unique(targets)) == 9


@pytest.mark.parametrize("kind", ["symmetric", "asymmetric"])
def test_reproducible_by_seed(kind):
    a = add_label_noise(LABELS, 0.3, kind, 10, seed=7, dataset_name="mnist")
    b = add_label_noise(LABELS, 0.3, kind, 10, seed=7, dataset_name="mnist")
    c = add_label_noise(LABELS, 0.3, kind, 10, seed=8, dataset_name="mnist")
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("name, pairs", [("tfds:mnist", MNIST_PAIRS),
                                         ("mnist5k", MNIST_PAIRS),
                                         ("tfds:cifar10", CIFAR10_PAIRS)])
def test_asymmetric_moves_round_fraction_of_each_source_class_to_its_pair(name, pairs):
    noisy = add_label_noise(LABELS, 0.25, "asymmetric", 10, seed=0, dataset_name=name)
    changed = noisy != LABELS
    assert changed.sum() == 25 * len(pairs)
    for source in range(10):
        moved = changed & (LABELS == source)
        assert moved.sum() == (25 if source in pairs else 0)
        assert np.all(noisy[moved] == pairs.get(source))


def test_standard_maps():
    assert MNIST_PAIRS == {2: 7, 3: 8, 5: 6, 6: 5, 7: 1}
    # truck->automobile, bird->airplane, deer->horse, cat<->dog
    assert CIFAR10_PAIRS == {9: 1, 2: 0, 4: 7, 3: 5, 5: 3}
    assert class_pairs("tfds:fashion_mnist", 10) == {c: (c + 1) % 10 for c in range(10)}
    assert class_pairs(None, 3) == {0: 1, 1: 2, 2: 0}


def test_load_noises_only_the_training_split():
    clean, noisy = load("mnist5k"), load("mnist5k", label_noise=0.2, seed=1)
    assert (noisy.arrays("train")[1] != clean.arrays("train")[1]).sum() == 700
    for split in ("validation", "test"):
        np.testing.assert_array_equal(noisy.arrays(split)[1], clean.arrays(split)[1])
    asymmetric = load("mnist5k", label_noise=0.2, label_noise_kind="asymmetric")
    assert (asymmetric.arrays("train")[1] != clean.arrays("train")[1]).sum() == 5 * 70


@pytest.mark.parametrize("fraction, kind, match", [(-0.1, "symmetric", "label_noise"),
                                                   (1.5, "symmetric", "label_noise"),
                                                   (0.1, "pair", "label_noise_kind")])
def test_bad_arguments(fraction, kind, match):
    with pytest.raises(ValueError, match=match):
        add_label_noise(LABELS, fraction, kind, 10, seed=0)
