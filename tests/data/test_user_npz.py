"""A path ending in .npz loads the user's own arrays."""
import numpy as np
import pytest

from lth_keras.data import load


def write(path, with_validation, dtype=np.uint8):
    rng = np.random.default_rng(0)
    arrays = dict(x_train=(rng.random((40, 8, 8)) * 255).astype(dtype),
                  y_train=rng.integers(0, 3, 40), x_test=np.zeros((6, 8, 8), dtype),
                  y_test=np.arange(6) % 3)
    if with_validation:
        arrays.update(x_val=np.zeros((5, 8, 8), dtype), y_val=np.arange(5) % 3)
    np.savez(path, **arrays)
    return str(path)


def test_validation_carved_from_the_end_of_train(tmp_path):
    path = write(tmp_path / "mine.npz", with_validation=False)
    data = load(path)
    assert data.input_shape == (8, 8, 1) and data.num_classes == 3
    assert (data.num_train, data.num_validation, data.num_test) == (36, 4, 6)
    with np.load(path) as stored:
        np.testing.assert_allclose(data.arrays("validation")[0][..., 0],
                                   stored["x_train"][36:] / 255, rtol=1e-6)
    assert load(path, validation_size=10).num_train == 30
    x, _ = next(iter(data.train(8, seed=0)))
    assert x.shape == (8, 8, 8, 1) and float(x.numpy().max()) <= 1.0


def test_given_validation_and_float_images_are_kept(tmp_path):
    data = load(write(tmp_path / "mine.npz", with_validation=True, dtype=np.float32))
    assert (data.num_train, data.num_validation, data.num_test) == (40, 5, 6)
    assert data.arrays("train")[0].max() > 1.0  # floats are not rescaled


def test_missing_arrays_are_named(tmp_path):
    np.savez(tmp_path / "bad.npz", x_train=np.zeros((2, 4, 4)))
    with pytest.raises(ValueError, match="y_train"):
        load(str(tmp_path / "bad.npz"))
