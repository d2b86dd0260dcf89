"""load(): accepted names, and bad arguments rejected before any loading."""
import pytest

from lth_keras.data import DATASETS, load


def test_builtin_names():
    assert set(DATASETS) == {"mnist5k", "synthetic"}
    for name in DATASETS:
        assert load(name).name == name


@pytest.mark.parametrize("name", ["imagenet", "tfds:", "mnist.csv", 3])
def test_unknown_name_lists_what_is_accepted(name):
    with pytest.raises(ValueError, match="name") as error:
        load(name)
    assert "mnist5k" in str(error.value) and "tfds:" in str(error.value)
    assert ".npz" in str(error.value)


@pytest.mark.parametrize("kwargs, argument", [
    (dict(label_noise=-0.1), "label_noise"),
    (dict(label_noise=1.01), "label_noise"),
    (dict(label_noise=0.1, label_noise_kind="pairflip"), "label_noise_kind"),
    (dict(train_fraction=0.0), "train_fraction"),
    (dict(train_fraction=2.0), "train_fraction"),
    (dict(corruption="random_labels"), "corruption"),
    (dict(validation_size=-1), "validation_size"),
])
def test_bad_arguments_fail_before_loading(tmp_path, kwargs, argument):
    # An unprepared TFDS dataset would fail differently: the check comes first.
    with pytest.raises(ValueError, match=argument):
        load("tfds:mnist", data_dir=str(tmp_path), **kwargs)


def test_mnist5k_split_is_fixed():
    with pytest.raises(ValueError, match="validation_size"):
        load("mnist5k", validation_size=100)
