"""Every procedure that takes --label_noise_kind trains on the labels it asks
for (it was once validated and then ignored by two of them)."""

import dataclasses

import numpy as np
import pytest

from lth_keras.data import load
from lth_keras.procedures import PROCEDURES
from lth_keras.runs.workdir import Workdir

# Options that keep each procedure's setup small on the synthetic data.
SMALL = {
    "instability": dict(rewind_iterations=[0]),
    "layer_lottery": dict(remove=[1], criterion=["random"], filter_tickets=False, energy=False),
    "prune_at_init": dict(methods=["random"], sparsities=[0.5], seeds=[0], dense=False),
    "tfmot_baseline": dict(densities=[0.5], pruning_frequency=16),
}
TAKES_LABEL_NOISE = sorted(name for name, p in PROCEDURES.items()
                           if "label_noise_kind" in {f.name for f in dataclasses.fields(p.config_class)})


def test_every_training_procedure_takes_the_flag():
    assert {"imp", "prune_at_init", "layer_lottery", "instability", "tfmot_baseline"} <= set(
        TAKES_LABEL_NOISE)


def _train_labels(name, tmp_path, kind):
    procedure = PROCEDURES[name]
    config = procedure.config_class(dataset="synthetic", iterations=32, eval_every=32,
                                    label_noise=0.4, label_noise_kind=kind, **SMALL.get(name, {}))
    config.validate()
    driver = procedure(config, Workdir(str(tmp_path / kind), config.to_dict()), log=lambda *a: None)
    data = driver.data(config.seed) if callable(driver.data) else driver.data
    return data.arrays("train")[1]


@pytest.mark.parametrize("name", TAKES_LABEL_NOISE)
def test_asymmetric_noise_reaches_the_training_labels(name, tmp_path):
    symmetric = _train_labels(name, tmp_path, "symmetric")
    asymmetric = _train_labels(name, tmp_path, "asymmetric")
    expected = load("synthetic", seed=0, label_noise=0.4, label_noise_kind="asymmetric")
    np.testing.assert_array_equal(asymmetric, expected.arrays("train")[1])
    assert not np.array_equal(symmetric, asymmetric)
