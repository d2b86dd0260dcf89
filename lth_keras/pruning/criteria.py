"""Pruning criteria: a criterion turns a model's prunable weights into scores.

Higher scores are kept. A criterion is a small object that overrides one
method, ``scores``; the pruner, the layerwise distributions and the schedules
never depend on which criterion they are given. Data-dependent criteria
(SNIP, GraSP, SynFlow, ...) take their batches in their constructor.
"""

import numpy as np

from lth_keras.registry import Registry

CRITERIA = Registry("criterion")
# Makes a criterion class constructible by name (as a command-line flag).
register = CRITERIA.register


def get(criterion, **kwargs):
    """A criterion from a registered name, or ``criterion`` itself if it is one."""
    if isinstance(criterion, Criterion):
        return criterion
    if criterion not in CRITERIA:
        raise ValueError(
            f"criterion: unknown '{criterion}'. Expected one of {sorted(CRITERIA)} "
            "or a lth_keras.pruning.Criterion instance."
        )
    return CRITERIA[criterion](**kwargs)


class Criterion:
    """Base class: override :meth:`scores`."""

    def scores(self, model, targets):
        """Returns ``{target.path: np.ndarray of target's shape}``; higher = keep.

        Args:
          model: the masked Keras model.
          targets: the :class:`~lth_keras.pruning.targets.PrunableWeight` s to score.
        """
        raise NotImplementedError


@register("magnitude")
class Magnitude(Criterion):
    """|w| (Han et al. 2015; Frankle & Carbin 2019)."""

    def scores(self, model, targets):
        return {t.path: np.abs(t.kernel.numpy()) for t in targets}


@register("random")
class Random(Criterion):
    """Uniform random scores, reproducible by ``seed``: random pruning."""

    def __init__(self, seed=0):
        self.seed = seed

    def scores(self, model, targets):
        rng = np.random.default_rng(self.seed)
        return {t.path: rng.random(t.kernel.shape, dtype=np.float32) for t in targets}
