"""TFDS datasets offline: mocked data, and the not-prepared error."""
import numpy as np
import pytest
import tensorflow_datasets as tfds

from lth_keras.data import DatasetNotPreparedError, load
from lth_keras.data.normalization import CIFAR10


@pytest.fixture
def no_download(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("lth_keras tried to download a dataset")
    monkeypatch.setattr(tfds.core.DatasetBuilder, "download_and_prepare", refuse)


def test_mnist_standard_splits_and_unit_interval():
    with tfds.testing.mock_data(num_examples=5010):
        data = load("tfds:mnist")
    assert data.input_shape == (28, 28, 1) and data.num_classes == 10
    # Default validation: the last 5,000 training examples (Frankle & Carbin).
    assert (data.num_train, data.num_validation, data.num_test) == (10, 5000, 5010)
    x, y = data.arrays("test")
    assert x.min() >= 0.0 and x.max() <= 1.0
    np.testing.assert_allclose(x * 255, np.round(x * 255), atol=1e-3)
    assert y.dtype == np.int32 and y.max() < 10


def test_cifar10_per_channel_normalisation_and_augmented_training():
    with tfds.testing.mock_data(num_examples=40):
        data = load("tfds:cifar10", augment=True, validation_size=8)
    assert data.input_shape == (32, 32, 3) and data.num_classes == 10
    assert (data.num_train, data.num_validation, data.num_test) == (32, 8, 40)
    x, _ = data.arrays("train")
    pixels = (x * np.float32(CIFAR10.std) + np.float32(CIFAR10.mean)) * 255
    np.testing.assert_allclose(pixels, np.round(pixels), atol=1e-3)
    assert pixels.min() > -1e-3 and pixels.max() < 255 + 1e-3
    batch, labels = next(iter(data.train(16, seed=0)))
    assert batch.shape == (16, 32, 32, 3) and labels.shape == (16,)
    x_test = np.concatenate([b for b, _ in data.test(16)])
    np.testing.assert_array_equal(x_test, data.arrays("test")[0])


def test_not_prepared_says_how_to_prepare(tmp_path, no_download):
    with pytest.raises(DatasetNotPreparedError) as error:
        load("tfds:mnist", data_dir=str(tmp_path))
    message = str(error.value)
    assert "'mnist'" in message and "tfds build mnist" in message
    assert "prepare" in message and str(tmp_path) in message
    assert isinstance(error.value, ValueError)


def test_unknown_tfds_name(tmp_path, no_download):
    with pytest.raises(ValueError, match="no_such_dataset"):
        load("tfds:no_such_dataset", data_dir=str(tmp_path))
