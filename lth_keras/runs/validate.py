"""Flag checks shared by every configuration: each raises a ValueError that
names the flag and what was expected, before any work starts."""

import math


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


def finite(flag, value):
    if not math.isfinite(value):
        raise ValueError(f"--{flag}: expected a finite number, got {value}.")


def distinct(flag, values, nonempty=True):
    """A list flag: at least one value (if ``nonempty``), none given twice."""
    if nonempty and not values:
        raise ValueError(f"--{flag}: expected at least one value.")
    repeated = sorted({str(v) for v in values if list(values).count(v) > 1})
    if repeated:
        raise ValueError(f"--{flag}: {', '.join(repeated)} given more than once.")
