"""Pruning at initialization in rounds, each scoring the network that survives."""

import numpy as np

from lth_keras.pruning.pruner import prune
from lth_keras.pruning.targets import prunable_weights


def exponential_densities(density, iterations, start=1.0):
    """Densities after each round: start * (density / start)**(k / iterations), k = 1..iterations.

    The schedule of SynFlow (Tanaka et al. 2020; from a dense start,
    density**(k / iterations)): each round removes the same fraction of what
    remains, and the last round lands exactly on ``density``.
    """
    if not 0.0 < density <= start:
        raise ValueError(f"density: expected a fraction in (0, {start}], got {density!r}.")
    if int(iterations) != iterations or iterations < 1:
        raise ValueError(f"iterations: expected an integer >= 1, got {iterations!r}.")
    n = int(iterations)
    return [start * (density / start) ** (k / n) for k in range(1, n)] + [density]


def prune_iteratively(model, density, criterion, iterations, exclude=()):
    """Prunes globally to ``density`` in ``iterations`` rounds of ``criterion``.

    The schedule starts from the model's current density over the pooled
    layers (1 at initialization). Every round is one call of
    :func:`lth_keras.prune`; returns the final masks.
    """
    pooled = [t for t in prunable_weights(model)
              if t.path not in exclude and t.layer.name not in exclude]
    start = sum(float(np.sum(t.mask.numpy())) for t in pooled) / max(sum(t.size for t in pooled), 1)
    masks = None
    for target in exponential_densities(density, iterations, start=start):
        masks = prune(model, density=target, scope="global", criterion=criterion, exclude=exclude)
    return masks
