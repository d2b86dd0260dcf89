"""Datasets are checked when loaded: a bad file or array is named, in a
DatasetError (a ValueError), never a later shape error or a poisoned run."""

import numpy as np
import pytest

from lth_keras.data import DatasetError, check_name, load
from lth_keras.data.splits import check_arrays
from lth_keras.runs.config import RunConfig


def arrays(n_x=40, n_y=40, **changes):
    rng = np.random.default_rng(0)
    base = dict(x_train=rng.integers(0, 255, (n_x, 6, 6)).astype(np.uint8),
                y_train=np.arange(n_y) % 3, x_test=np.zeros((9, 6, 6), np.uint8),
                y_test=np.arange(9) % 3)
    return {**base, **changes}


def npz(tmp_path, name="data.npz", **changes):
    path = tmp_path / name
    np.savez(path, **arrays(**changes))
    return str(path)


@pytest.mark.parametrize("changes, says", [
    (dict(n_y=30), "data.npz: x_train has 40 examples but y_train 30."),
    (dict(y_train=np.r_[-1, np.arange(39) % 3]), "data.npz: y_train holds labels from -1 to 2"),
    (dict(x_train=np.full((40, 6, 6), np.inf, np.float32)),
     "data.npz: x_train has 1440 non-finite pixel values"),
    (dict(x_test=np.zeros((9, 5, 5), np.uint8)), "data.npz: x_test has images of shape (5, 5, 1)"),
    (dict(y_test=np.zeros(9, np.float32)), "data.npz: y_test must be a 1-D integer array"),
    (dict(x_train=np.zeros(40, np.uint8)), "data.npz: x_train has shape (40,)"),
    (dict(x_train=np.zeros((40, 6, 6), bool)), "data.npz: x_train holds bool values"),
    (dict(x_train=np.zeros((0, 6, 6), np.uint8), y_train=np.zeros(0, int)),
     "data.npz: x_train has no examples."),
    (dict(x_val=np.zeros((4, 6, 6), np.uint8)), "data.npz: has only one of x_val, y_val"),
    (dict(x_val=np.zeros((4, 6, 6), np.uint8), y_val=np.arange(5)), "x_val has 4 examples but y_val 5"),
    (dict(x_test=np.array([{}] * 9, dtype=object)), "data.npz: x_test holds Python objects"),
])
def test_bad_arrays_are_named_with_their_file(tmp_path, changes, says):
    with pytest.raises(DatasetError) as error:
        load(npz(tmp_path, **changes))
    assert says in str(error.value)
    assert isinstance(error.value, ValueError)


def test_files_that_are_not_npz_archives(tmp_path):
    (tmp_path / "folder.npz").mkdir()
    (tmp_path / "text.npz").write_text("hello")
    np.save(tmp_path / "single.npy", np.zeros(3))
    (tmp_path / "single.npy").rename(tmp_path / "single.npz")
    good = npz(tmp_path, "good.npz")
    with open(good, "rb") as f:
        (tmp_path / "truncated.npz").write_bytes(f.read()[:200])
    for name, says in (("missing.npz", "no such file"), ("folder.npz", "is not a file"),
                       ("text.npz", "not an .npz archive"), ("single.npz", "a single array"),
                       ("truncated.npz", "not a readable .npz archive")):
        with pytest.raises(DatasetError, match=f"{name}: .*{says}"):
            load(str(tmp_path / name))
    assert load(good).num_train == 36


def test_a_good_file_still_loads_and_labels_set_the_classes(tmp_path):
    data = load(npz(tmp_path, y_train=np.arange(40) % 5))
    assert data.num_classes == 5 and data.input_shape == (6, 6, 1)


def test_check_arrays_with_a_known_number_of_classes():
    good = arrays()
    check_arrays("mine", good, num_classes=3)
    with pytest.raises(DatasetError, match=r"mine: y_train holds labels from 0 to 2; expected "
                                           r"class indices in \[0, 2\)"):
        check_arrays("mine", good, num_classes=2)


@pytest.mark.parametrize("name, says", [
    ("tfds:huggingface:mnist", "community namespace"),
    ("tfds:kubric:movi_a", "community namespace"),
    ("imagenet", "unknown dataset name"),
])
def test_names_that_cannot_load_offline_are_refused_before_reading(name, says):
    with pytest.raises(DatasetError, match=says):
        check_name(name)
    with pytest.raises(ValueError, match=f"^--dataset: .*{says}"):
        RunConfig(dataset=name).validate()


def test_tfds_versions_are_not_namespaces():
    check_name("tfds:mnist:3.0.1")
    check_name("tfds:mnist/cfg:1.*.*")


def test_the_flag_is_named_when_a_run_loads_its_data(tmp_path):
    config = RunConfig(dataset=npz(tmp_path, n_y=30), iterations=64, eval_every=32)
    config.validate()  # the file exists: its contents are read with the data
    with pytest.raises(ValueError, match=r"^--dataset: .*data.npz: x_train has 40 examples"):
        config.load_data()
