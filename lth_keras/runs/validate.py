"""Flag checks shared by every configuration: each raises a ValueError that
names the flag and what was expected, before any work starts."""

import dataclasses
import math
import numbers

from lth_keras.runs.seeds import SEED_RANGE


def choice(flag, value, choices):
    if value not in choices:
        raise ValueError(f"--{flag}: unknown '{value}'; expected one of {sorted(choices)}.")


def positive(flag, value):
    if not value > 0:
        raise ValueError(f"--{flag}: expected > 0, got {value}.")


def at_least(flag, value, low):
    if not value >= low:
        raise ValueError(f"--{flag}: expected >= {low}, got {value}.")


def fraction(flag, value, low_open=False):
    ok = (0.0 < value <= 1.0) if low_open else (0.0 <= value <= 1.0)
    if not ok:
        raise ValueError(f"--{flag}: expected a fraction in {'(0' if low_open else '[0'}, 1], "
                         f"got {value}.")


def interval(flag, value, low, high, bounds="[]"):
    """``value`` in the interval from ``low`` to ``high``; ``bounds`` says which
    ends are closed, as written: ``"[]"``, ``"[)"``, ``"(]"`` or ``"()"``."""
    above = value >= low if bounds[0] == "[" else value > low
    below = value <= high if bounds[1] == "]" else value < high
    if not (above and below):
        raise ValueError(f"--{flag}: expected a value in {bounds[0]}{low}, {high}{bounds[1]}, "
                         f"got {value}.")


def finite(flag, value):
    if not math.isfinite(value):
        raise ValueError(f"--{flag}: expected a finite number, got {value}.")


def finite_fields(config):
    """Every float field of a configuration dataclass, and every float item of
    its list fields, is finite: nan and inf are never a meaningful flag."""
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        items = value if isinstance(value, (list, tuple)) else [value]
        for item in items:
            # bool is an int, never a float; ints cannot be non-finite.
            if isinstance(item, numbers.Real) and not isinstance(item, numbers.Integral):
                finite(f.name, item)


def distinct(flag, values, nonempty=True):
    """A list flag: at least one value (if ``nonempty``), none given twice."""
    if nonempty and not values:
        raise ValueError(f"--{flag}: expected at least one value.")
    repeated = sorted({str(v) for v in values if list(values).count(v) > 1})
    if repeated:
        raise ValueError(f"--{flag}: {', '.join(repeated)} given more than once.")


def seed(flag, value):
    """A seed in [0, 2**31): larger seeds would alias smaller ones in the seed rule."""
    interval(flag, value, 0, SEED_RANGE, "[)")


def seed_list(flag, values, nonempty=False):
    """A list of seeds: each a :func:`seed`, none given twice."""
    distinct(flag, values, nonempty)
    for value in values:
        seed(flag, value)


def increasing(flag, values):
    """A list flag whose values strictly increase (e.g. step-decay milestones)."""
    for before, after in zip(values, values[1:]):
        if not after > before:
            raise ValueError(f"--{flag}: expected strictly increasing values, got "
                             f"{','.join(str(v) for v in values)}.")


def useless(flag, why, instead):
    """Refuses a flag that would do nothing here, naming what to do instead."""
    raise ValueError(f"--{flag}: {why}; {instead}.")
