"""Scores to masks: exact top-k pruning, global or layerwise.

Pruning never regrows: a weight pruned before stays pruned, and the amount to
prune is counted among the weights that remain (as IMP prunes "p% of the
remaining weights", Frankle & Carbin 2019).
"""

import numbers

import numpy as np

from lth_keras.pruning import criteria as criteria_lib
from lth_keras.pruning.masks import get_masks
from lth_keras.pruning.targets import prunable_weights, resolve

SCOPES = ("global", "layerwise")


def top_k_mask(scores, k):
    """A 0/1 array keeping exactly the ``k`` highest scores.

    Ties at the threshold are broken by position (earlier flat index kept), so
    the result is deterministic; NaN scores rank lowest. Exact counts are the
    point: a float quantile threshold prunes a varying number on ties.
    """
    flat = np.asarray(scores).ravel()
    if np.isnan(flat).any():
        flat = np.where(np.isnan(flat), -np.inf, flat)
    n = flat.size
    keep = np.zeros(n, dtype=bool)
    if k >= n:
        keep[:] = True
    elif k > 0:
        # Partition only live scores: np.partition slows tenfold on arrays that
        # are mostly one repeated value (the -inf of weights already pruned).
        alive = flat[flat > -np.inf]
        threshold = np.partition(alive, alive.size - k)[alive.size - k] if k <= alive.size else -np.inf
        keep = flat > threshold
        ties = np.flatnonzero(flat == threshold)
        keep[ties[: k - int(keep.sum())]] = True
    return keep.reshape(np.shape(scores))


def _check_fraction(value, argument):
    values = value.values() if isinstance(value, dict) else [value]
    for v in values:
        if not isinstance(v, numbers.Real) or not 0.0 <= v <= 1.0:
            raise ValueError(f"{argument}: expected a fraction in [0, 1], got {v!r}.")


def prune(model, amount=None, *, density=None, scope="global", criterion="magnitude", exclude=()):
    """Prunes a masked model in place and returns its new mask set.

    Args:
      model: a masked model (see :func:`lth_keras.wrap`).
      amount: fraction of the *remaining* weights to prune. A float, or a dict
        keyed by layer name, weight path, kind (``"conv"``, ``"dense"``,
        ``"output"``) or ``"default"``; layers no key matches are left alone.
      density: instead of ``amount``, the fraction of each kernel (or of the
        pooled kernels) to keep, as a float or a dict like ``amount``.
      scope: ``"global"`` ranks all weights that share one value of ``amount``
        (or ``density``) together; ``"layerwise"`` ranks within each kernel.
      criterion: a :class:`~lth_keras.pruning.criteria.Criterion` or a
        registered name (default ``"magnitude"``).
      exclude: layer names or weight paths never to prune.

    Returns:
      The new mask set ``{path: 0/1 array}``.

    Raises:
      ValueError: for a bad argument, before the model is touched.
    """
    if (amount is None) == (density is None):
        raise ValueError("amount, density: give exactly one of them.")
    if scope not in SCOPES:
        raise ValueError(f"scope: expected one of {SCOPES}, got {scope!r}.")
    argument, value = ("amount", amount) if amount is not None else ("density", density)
    _check_fraction(value, argument)
    targets = prunable_weights(model)
    names = {t.layer.name for t in targets} | {t.path for t in targets}
    unknown = [e for e in exclude if e not in names]
    if unknown:
        raise ValueError(f"exclude: no masked layer or weight named {unknown}; have {sorted(names)}.")
    values = resolve(targets, value, argument)
    targets = [
        t
        for t in targets
        if values[t.path] is not None and t.path not in exclude and t.layer.name not in exclude
    ]
    criterion = criteria_lib.get(criterion)
    masks = get_masks(model)
    keep_counts = _keep_counts(targets, values, masks, argument, scope)
    if not targets:
        return masks

    scores = criterion.scores(model, targets)
    for t in targets:
        score = np.asarray(scores[t.path])
        if score.shape != tuple(t.kernel.shape):
            raise ValueError(
                f"criterion: scores for '{t.path}' have shape {score.shape}, "
                f"expected {tuple(t.kernel.shape)}."
            )
        # A pruned weight can never win back its place.
        scores[t.path] = np.where(masks[t.path] > 0, score, -np.inf)

    for group, k in keep_counts:
        flat = np.concatenate([np.ravel(scores[t.path]) for t in group])
        keep = top_k_mask(flat, k)
        offset = 0
        for t in group:
            masks[t.path] = keep[offset : offset + t.size].reshape(t.kernel.shape).astype(np.float32)
            offset += t.size
    for t in targets:
        t.mask.assign(masks[t.path] > 0)
        t.kernel.assign(t.kernel.numpy() * masks[t.path])
    return masks


def _keep_counts(targets, values, masks, argument, scope):
    """Groups targets that are ranked together, with how many each group keeps."""
    if scope == "layerwise":
        groups = [[t] for t in targets]
    else:
        by_value = {}
        for t in targets:
            by_value.setdefault(values[t.path], []).append(t)
        groups = list(by_value.values())
    counts = []
    for group in groups:
        value = values[group[0].path]
        remaining = int(sum(masks[t.path].sum() for t in group))
        if argument == "amount":
            keep = remaining - int(round(value * remaining))
        else:
            keep = int(round(value * sum(t.size for t in group)))
            if keep > remaining:
                where = group[0].path if len(group) == 1 else "the pooled layers"
                raise ValueError(
                    f"density: target {value} keeps {keep} weights of {where}, more than "
                    f"the {remaining} that remain; pruning never regrows weights."
                )
        counts.append((group, keep))
    return counts
