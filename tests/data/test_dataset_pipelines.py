"""Dataset pipelines: seeded reproducibility, epochs, unshuffled eval, balanced batches."""
import numpy as np
import pytest
import tensorflow as tf

from lth_keras.data import load


@pytest.fixture(scope="module")
def synthetic():
    return load("synthetic", seed=0, validation_size=50)


def batches(dataset, **kwargs):
    return [(x.numpy(), y.numpy()) for x, y in dataset.train(**kwargs)]


def test_same_seed_gives_identical_batches_whatever_the_global_seed(synthetic):
    tf.random.set_seed(1)
    first = batches(synthetic, batch_size=64, seed=3, epochs=2)
    tf.random.set_seed(2)
    second = batches(synthetic, batch_size=64, seed=3, epochs=2)
    assert len(first) == len(second) == 2 * 10  # 600 examples, batches of 64
    for (x1, y1), (x2, y2) in zip(first, second):
        np.testing.assert_array_equal(x1, x2)
        np.testing.assert_array_equal(y1, y2)


def test_different_seeds_give_different_orders(synthetic):
    a = np.concatenate([y for _, y in batches(synthetic, batch_size=100, seed=0, epochs=1)])
    b = np.concatenate([y for _, y in batches(synthetic, batch_size=100, seed=1, epochs=1)])
    assert not np.array_equal(a, b)


def test_each_epoch_is_a_new_permutation_of_the_training_split(synthetic):
    x_train, _ = synthetic.arrays("train")
    n = synthetic.num_train
    seen = np.concatenate([x for x, _ in batches(synthetic, batch_size=n, seed=0, epochs=2)])
    key = lambda images: sorted(map(bytes, images.reshape(len(images), -1)))  # noqa: E731
    assert key(seen[:n]) == key(seen[n:]) == key(x_train)
    assert not np.array_equal(seen[:n], seen[n:])


def test_infinite_repetition_by_default(synthetic):
    taken = list(synthetic.train(batch_size=256, seed=0).take(7))
    assert len(taken) == 7  # more than the 3 batches of one epoch
    x, y = taken[0]
    assert x.dtype == tf.float32 and y.dtype == tf.int32
    assert x.shape[1:] == (28, 28, 1)


def test_unshuffled_train_and_evaluation_follow_the_arrays(synthetic):
    for split, pipeline in [("validation", synthetic.validation(16)),
                            ("test", synthetic.test(16)),
                            ("train", synthetic.train(16, seed=9, epochs=1, shuffle=False))]:
        x = np.concatenate([xb.numpy() for xb, _ in pipeline])
        y = np.concatenate([yb.numpy() for _, yb in pipeline])
        x_ref, y_ref = synthetic.arrays(split)
        np.testing.assert_array_equal(x, x_ref)
        np.testing.assert_array_equal(y, y_ref)


def test_pipelines_are_deterministic(synthetic):
    assert synthetic.train(8, seed=0).options().deterministic
    assert synthetic.test(8).options().deterministic


def test_balanced_batch_has_exactly_k_of_each_class(synthetic):
    x, y = synthetic.balanced_batch(examples_per_class=7, seed=4)
    assert x.shape == (70, 28, 28, 1) and x.dtype == np.float32
    np.testing.assert_array_equal(np.bincount(y, minlength=10), [7] * 10)
    x2, y2 = synthetic.balanced_batch(examples_per_class=7, seed=4)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(x, synthetic.balanced_batch(7, seed=5)[0])


def test_balanced_batch_larger_than_a_class_is_an_error(synthetic):
    with pytest.raises(ValueError, match="examples_per_class"):
        synthetic.balanced_batch(examples_per_class=61, seed=0)


def test_synthetic_is_seeded_and_learnable():
    a, b, c = load("synthetic", seed=1), load("synthetic", seed=1), load("synthetic", seed=2)
    np.testing.assert_array_equal(a.arrays("train")[0], b.arrays("train")[0])
    assert not np.array_equal(a.arrays("train")[0], c.arrays("train")[0])
    # A nearest-class-mean classifier already separates the classes.
    x, y = a.arrays("train")
    means = np.stack([x[y == k].mean(0) for k in range(10)]).reshape(10, -1)
    x_test, y_test = a.arrays("test")
    distances = ((x_test.reshape(len(x_test), 1, -1) - means) ** 2).sum(-1)
    assert (distances.argmin(1) == y_test).mean() > 0.9
