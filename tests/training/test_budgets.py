"""Liu et al. 2019's training budgets for pruned networks."""

import dataclasses
import math

import pytest

from lth_keras.metrics import multiply_adds
from lth_keras.models import build
from lth_keras.pruning import prune
from lth_keras.runs.config import RunConfig
from lth_keras.training.budgets import training_budget


@pytest.fixture
def pruned():
    model = build("conv2", (8, 8, 3), 10, seed=0)
    prune(model, density={"conv": 0.1, "default": 0.5}, scope="layerwise")
    return model


def test_standard_is_the_run_itself(pruned):
    config = RunConfig(iterations=1000, eval_every=50)
    assert training_budget("standard", config, pruned) is config


def test_scratch_e_keeps_the_length_and_decays_at_half_and_three_quarters(pruned):
    config = training_budget("scratch_e", RunConfig(iterations=1000, eval_every=50), pruned)
    assert (config.iterations, config.schedule, config.milestones) == (1000, "step", [500, 750])


def test_scratch_b_scales_by_the_multiply_add_ratio(pruned):
    dense, effective = multiply_adds(pruned)
    factor = dense / effective
    assert factor > 2  # the conv layers hold most multiply-adds and keep 10%
    config = training_budget("scratch_b", RunConfig(iterations=1000, eval_every=50), pruned)
    assert config.iterations == math.ceil(1000 * factor / 50) * 50
    assert config.milestones == [config.iterations // 2, 3 * config.iterations // 4]
    capped = training_budget("scratch_b", RunConfig(iterations=1000, eval_every=50), pruned,
                             max_factor=2.0)
    assert capped.iterations == 2000


def test_bad_budget(pruned):
    with pytest.raises(ValueError, match="budget"):
        training_budget("scratch_x", RunConfig(iterations=10), pruned)
    with pytest.raises(ValueError, match="max_factor"):
        training_budget("scratch_b", dataclasses.replace(RunConfig(), iterations=10), pruned,
                        max_factor=0.5)
