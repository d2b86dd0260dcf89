"""Offline corruptions: severity ordering, determinism, pixel space; CIFAR-10-C loader."""
import numpy as np
import pytest

from lth_keras.analysis import corruptions
from lth_keras.analysis.corruptions import CORRUPTIONS, corrupt, corruption_accuracies
from lth_keras.analysis.pixels import PixelSpace
from lth_keras.data import DatasetNotPreparedError
from lth_keras.data.normalization import CIFAR10


def images(channels, n=6, size=16, seed=0):
    """Smooth random images away from 0 and 1, so every corruption has room to act."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(0.2, 0.7, size=(n, size // 4, size // 4, channels))
    return np.kron(coarse, np.ones((1, 4, 4, 1))).astype(np.float32)


@pytest.mark.parametrize("name", sorted(CORRUPTIONS))
@pytest.mark.parametrize("channels", [1, 3])
def test_severity_1_changes_an_image_less_than_severity_5(name, channels):
    x = images(channels)
    change = {s: np.abs(CORRUPTIONS[name](x, s, (3, 4)).numpy() - x).mean() for s in (1, 5)}
    assert 0 < change[1] < change[5]
    out = CORRUPTIONS[name](x, 5, (3, 4)).numpy()
    assert out.shape == x.shape and out.min() >= 0.0 and out.max() <= 1.0
    np.testing.assert_array_equal(out, CORRUPTIONS[name](x, 5, (3, 4)).numpy())


def test_standard_levels_and_exact_forms():
    x = images(3)
    assert CORRUPTIONS["contrast"].levels == (0.75, 0.5, 0.4, 0.3, 0.15)
    mean = x.mean(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(CORRUPTIONS["contrast"](x, 2).numpy(), (x - mean) * 0.5 + mean,
                               atol=1e-6)
    flat = np.full((1, 12, 12, 1), 0.4, np.float32)
    np.testing.assert_allclose(CORRUPTIONS["gaussian_blur"](flat, 5).numpy(), flat, atol=1e-6)
    np.testing.assert_allclose(CORRUPTIONS["brightness"](flat, 5).numpy(), flat + 0.3, atol=1e-6)
    salt_pepper = CORRUPTIONS["impulse_noise"](np.full((50, 20, 20, 1), 0.5, np.float32), 5).numpy()
    changed = salt_pepper != 0.5
    assert set(np.unique(salt_pepper[changed])) == {0.0, 1.0}
    assert abs(changed.mean() - 0.07) < 0.01


def test_corrupt_works_in_the_model_input_space_and_by_seed():
    pixels = PixelSpace(CIFAR10)
    x = pixels.to_inputs(images(3, n=10))
    noisy = corrupt(x, "gaussian_noise", 3, pixels, seed=1, batch_size=4)
    np.testing.assert_array_equal(noisy, corrupt(x, "gaussian_noise", 3, pixels, seed=1, batch_size=4))
    assert not np.array_equal(noisy, corrupt(x, "gaussian_noise", 3, pixels, seed=2, batch_size=4))
    back = pixels.to_pixels(noisy)
    assert back.min() >= -1e-5 and back.max() <= 1 + 1e-5
    assert 0.02 < np.abs(back - pixels.to_pixels(x)).mean() < 0.1


def test_corruption_accuracies_and_their_mean(tmp_path):
    import keras

    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(2)])
    x = images(1, n=20, size=8)
    y = np.argmax(model.predict(x, verbose=0), -1)
    out = corruption_accuracies(model, x, y, names=("contrast", "brightness"), severities=(1, 5))
    assert set(out) == {"contrast_1", "contrast_5", "brightness_1", "brightness_5", "mean"}
    assert out["mean"] == pytest.approx(np.mean([v for k, v in out.items() if k != "mean"]))


def test_bad_arguments_and_an_unprepared_cifar10_corrupted(tmp_path):
    with pytest.raises(ValueError, match="severity"):
        CORRUPTIONS["contrast"](images(1), 6)
    with pytest.raises(ValueError, match="unknown corruption"):
        corrupt(images(1), "fog", 1)
    with pytest.raises(ValueError, match="NHWC"):
        CORRUPTIONS["contrast"](np.zeros((4, 4)), 1)
    with pytest.raises(DatasetNotPreparedError, match="cifar10_corrupted/contrast_2.*not prepared"):
        corruptions.load_cifar10_corrupted("contrast", 2, data_dir=str(tmp_path))
