"""The shared flag validators, and every configuration held to them."""

import dataclasses
import math
import types

import pytest

from lth_keras.procedures import PROCEDURES
from lth_keras.runs import validate
from lth_keras.runs.config import RunConfig
from lth_keras.training.budgets import MAX_ITERATIONS, resolve_iterations

CONFIGS = sorted({p.config_class for p in PROCEDURES.values()}, key=lambda c: c.__name__)


def _float_fields(config_class):
    """(name, bad value) of every float flag: the field, or [nan] for a float list."""
    out = []
    for f in dataclasses.fields(config_class):
        if f.type in (float, "float"):
            out.append(f.name)
        elif f.metadata.get("item") is float:
            out.append(f.name)
    return out


def _default(config_class):
    # Synthetic data: the check of a dataset name never touches the disk.
    return config_class(**({"dataset": "synthetic"} if issubclass(config_class, RunConfig) else {}))


@pytest.mark.parametrize("config_class", CONFIGS, ids=lambda c: c.__name__)
def test_defaults_are_valid_and_a_saved_flag_file_is_accepted(config_class):
    config = _default(config_class)
    config.validate()
    # A rerun from flags.txt gives every flag, each at its default.
    config.check_given({f.name for f in dataclasses.fields(config)} - {"imp_workdir"})


@pytest.mark.parametrize("config_class", CONFIGS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_no_configuration_takes_a_non_finite_float(config_class, bad):
    names = _float_fields(config_class)
    assert names  # every configuration has float flags
    for name in names:
        value = [bad] if isinstance(getattr(_default(config_class), name), list) else bad
        config = dataclasses.replace(_default(config_class), **{name: value})
        with pytest.raises(ValueError, match=f"^--{name}: expected a finite number"):
            config.validate()


def test_finite_fields_checks_floats_and_float_items_only():
    @dataclasses.dataclass
    class Flags:
        rate: float = 0.1
        count: int = 3
        on: bool = True
        values: list = dataclasses.field(default_factory=lambda: [0.5, 2])

    validate.finite_fields(Flags())
    with pytest.raises(ValueError, match="--values: expected a finite number, got nan"):
        validate.finite_fields(Flags(values=[0.5, math.nan]))
    with pytest.raises(ValueError, match="--rate"):
        validate.finite_fields(Flags(rate=-math.inf))


def test_interval_bounds_are_as_written():
    validate.interval("x", 0.0, 0.0, 1.0, "[)")
    with pytest.raises(ValueError, match=r"--x: expected a value in \[0.0, 1.0\), got 1.0"):
        validate.interval("x", 1.0, 0.0, 1.0, "[)")
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        validate.interval("x", 0, 0, 1, "(]")
    with pytest.raises(ValueError):
        validate.interval("x", math.nan, 0, 1)


def test_distinct_increasing_and_useless_messages():
    validate.distinct("seeds", [0, 1])
    validate.distinct("seeds", [], nonempty=False)
    with pytest.raises(ValueError, match="^--seeds: 0 given more than once.$"):
        validate.distinct("seeds", [0, 1, 0])
    with pytest.raises(ValueError, match="^--seeds: expected at least one value.$"):
        validate.distinct("seeds", [])
    validate.seed_list("seeds", [0, 2**31 - 1])
    with pytest.raises(ValueError, match=r"^--seeds: expected a value in \[0, 2147483648\)"):
        validate.seed_list("seeds", [2**31])
    with pytest.raises(ValueError, match="^--seeds: 1 given more than once"):
        validate.seed_list("seeds", [1, 1])
    validate.increasing("milestones", [1, 5])
    with pytest.raises(ValueError, match="--milestones: expected strictly increasing values, got 5,5"):
        validate.increasing("milestones", [5, 5])
    with pytest.raises(ValueError, match="^--a: does nothing; use --b.$"):
        validate.useless("a", "does nothing", "use --b")


TRAINING = dict(dataset="synthetic", iterations=64, eval_every=32)


@pytest.mark.parametrize("overrides, flag", [
    (dict(momentum=1.0, optimizer="sgd"), "momentum"),
    (dict(momentum=-0.1, optimizer="sgd"), "momentum"),
    (dict(gamma=0.0, schedule="step", milestones=[32]), "gamma"),
    (dict(gamma=2.0, schedule="step", milestones=[32]), "gamma"),
    (dict(warmup_iterations=-1), "warmup_iterations"),
    (dict(warmup_iterations=65), "warmup_iterations"),
    (dict(schedule="step", milestones=[0]), "milestones"),
    (dict(schedule="step", milestones=[40, 20]), "milestones"),
    (dict(schedule="step", milestones=[64]), "milestones"),
    (dict(schedule="cosine", milestones=[32]), "milestones"),
    (dict(schedule="step"), "schedule"),
    (dict(optimizer="adam", weight_decay=1e-4), "weight_decay"),
    (dict(seed=-1), "seed"),
    (dict(seed=2**31), "seed"),
    (dict(iterations=MAX_ITERATIONS + 1), "iterations"),
    (dict(dataset="tfds:huggingface:mnist"), "dataset"),
    (dict(dataset="no/such/file.npz"), "dataset"),
])
def test_training_flags_out_of_range_or_contradictory(overrides, flag):
    with pytest.raises(ValueError, match=f"^--{flag}: "):
        RunConfig(**{**TRAINING, **overrides}).validate()


def test_weight_decay_is_taken_where_it_is_used():
    for optimizer in ("adamw", "sgd"):
        RunConfig(**TRAINING, optimizer=optimizer, weight_decay=1e-4).validate()
    with pytest.raises(ValueError, match="use --optimizer=adamw"):
        RunConfig(**TRAINING, optimizer="adam", weight_decay=1e-4).validate()


@pytest.mark.parametrize("overrides, given", [
    (dict(momentum=0.5), "momentum"),
    (dict(gamma=0.5), "gamma"),
    (dict(epochs=3.0), "epochs"),
    (dict(label_noise_kind="asymmetric"), "label_noise_kind"),
    (dict(tpu="grpc://x"), "tpu"),
    (dict(data_dir="/tmp"), "data_dir"),
])
def test_flags_that_do_nothing_are_refused_only_when_changed(overrides, given):
    config = RunConfig(**TRAINING, **overrides)
    config.validate()
    with pytest.raises(ValueError, match=f"^--{given}: "):
        config.check_given({given})
    RunConfig(**TRAINING).check_given({given})  # given at its default: a flag file


def test_momentum_and_gamma_where_they_act():
    RunConfig(**TRAINING, optimizer="sgd", momentum=0.5).check_given({"momentum"})
    RunConfig(**TRAINING, schedule="step", milestones=[32], gamma=0.5).check_given({"gamma"})


def test_batch_size_above_the_training_set_is_refused_once_the_data_is_known():
    data = types.SimpleNamespace(num_train=100, name="mine.npz")
    ok = RunConfig(dataset="synthetic", batch_size=100, iterations=0, epochs=1.0, eval_every=1)
    assert resolve_iterations(ok, data) == 1
    with pytest.raises(ValueError, match="^--batch_size: 101 is more than the 100 training "
                                         "examples of 'mine.npz'"):
        resolve_iterations(dataclasses.replace(ok, batch_size=101, iterations=64), data)
    with pytest.raises(ValueError, match="^--epochs: "):
        resolve_iterations(dataclasses.replace(ok, epochs=1e30), data)
