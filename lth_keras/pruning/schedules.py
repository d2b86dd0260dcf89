"""Pruning schedules: when to prune during training, and to what density.

A schedule is a value: ``schedule.density(step)`` is the density the model
should have after ``step`` optimizer iterations (TFMOT's schedules answer the
same question as ``(should_prune, sparsity)``).
"""

from lth_keras.registry import Registry

SCHEDULES = Registry("pruning schedule")


class PruningSchedule:
    """Base class: override :meth:`density`."""

    def density(self, step):
        raise NotImplementedError


@SCHEDULES.register("one_shot")
class OneShot(PruningSchedule):
    """Prune once, at ``step``, to ``target`` density."""

    def __init__(self, step, target):
        self.step, self.target = int(step), float(target)

    def density(self, step):
        return self.target if step >= self.step else 1.0


@SCHEDULES.register("iterative")
class Iterative(PruningSchedule):
    """Prune ``rate`` of the remaining weights at each of ``steps``.

    After i pruning events the density is (1 - rate)^i, as in IMP.
    """

    def __init__(self, steps, rate):
        self.steps, self.rate = sorted(int(s) for s in steps), float(rate)

    def density(self, step):
        return (1.0 - self.rate) ** sum(s <= step for s in self.steps)


@SCHEDULES.register("polynomial")
class PolynomialDecay(PruningSchedule):
    """Gradual pruning of Zhu & Gupta 2017, "To prune, or not to prune".

    s_t = s_f + (s_i - s_f) (1 - (t - t_0) / (t_n - t_0))^3, updated every
    ``frequency`` steps from ``begin_step`` to ``end_step`` (s = sparsity).
    """

    def __init__(self, final_sparsity, begin_step, end_step, initial_sparsity=0.0,
                 frequency=100, power=3):
        self.final, self.initial = float(final_sparsity), float(initial_sparsity)
        self.begin, self.end = int(begin_step), int(end_step)
        self.frequency, self.power = int(frequency), power

    def density(self, step):
        if step < self.begin:
            return 1.0
        step = min(step, self.end)
        # Sparsity changes only at the update steps.
        step = self.begin + (step - self.begin) // self.frequency * self.frequency
        progress = (step - self.begin) / max(self.end - self.begin, 1)
        if step >= self.end:
            progress = 1.0
        sparsity = self.final + (self.initial - self.final) * (1.0 - progress) ** self.power
        return 1.0 - sparsity
