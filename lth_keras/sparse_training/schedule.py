"""When dynamic sparse training updates its masks, and how much it drops.

RigL's schedule (Evci et al. 2020): an update every ``delta_t`` steps from
``start`` until ``end`` (75% of training by default), each dropping the fraction
f(t) = alpha / 2 * (1 + cos(pi t / end)) of every layer's active weights
(``kind="cosine"``, alpha = 0.3), or alpha throughout (``kind="constant"``).
"""

import math

KINDS = ("cosine", "constant")


class UpdateSchedule:
    """Mask updates at ``start + n * delta_t`` for ``start < t < end``."""

    def __init__(self, end, delta_t=100, alpha=0.3, start=0, kind="cosine"):
        if kind not in KINDS:
            raise ValueError(f"kind: expected one of {KINDS}, got {kind!r}.")
        if not (isinstance(delta_t, int) and delta_t >= 1):
            raise ValueError(f"delta_t: expected an integer >= 1, got {delta_t!r}.")
        if not 0.0 < alpha <= 1.0:
            raise ValueError(f"alpha: expected a fraction in (0, 1], got {alpha!r}.")
        if not 0 <= start < end:
            raise ValueError(f"start, end: expected 0 <= start < end, got {start} and {end}.")
        self.end, self.delta_t, self.alpha = int(end), int(delta_t), float(alpha)
        self.start, self.kind = int(start), kind

    def is_update(self, step):
        return self.start < step < self.end and (step - self.start) % self.delta_t == 0

    def updates_between(self, first, last):
        """The update steps in ``(first, last]``: the steps a compiled call of
        ``steps_per_execution`` steps ran past (applied at its end)."""
        return [t for t in range(first + 1, last + 1) if self.is_update(t)]

    def drop_fraction(self, step):
        if self.kind == "constant":
            return self.alpha
        return self.alpha / 2 * (1 + math.cos(math.pi * step / self.end))
