"""Scores to masks: exact top-k pruning, global or layerwise.

Pruning never regrows: a weight pruned before stays pruned, and the amount to
prune is counted among the weights that remain (as IMP prunes "p% of the
remaining weights", Frankle & Carbin 2019).
"""

import numbers

import numpy as np

from lth_keras.layers.masked import apply_mask
from lth_keras.pruning import criteria as criteria_lib
from lth_keras.pruning.targets import prunable_weights, resolve

SCOPES = ("global", "layerwise")


def top_k_mask(scores, k):
    """A boolean array keeping exactly the ``k`` highest scores.

    Ties at the threshold are broken by position (earlier flat index kept), so
    the result is deterministic; NaN scores rank lowest. Exact counts are the
    point: a float quantile threshold prunes a varying number on ties.
    """
    scores = np.asarray(scores)
    return _top_k([scores], [np.ones(scores.shape, dtype=bool)], k)[0]


def _top_k(scores, alive, k):
    """Keeps exactly ``k`` of the ``alive`` entries of several arrays ranked as one.

    The arrays rank as if concatenated flat in order (ties: earlier kept), without
    building that concatenation: only the live scores are copied, once, and
    partitioned (``np.partition`` also slows tenfold on arrays that are mostly one
    repeated value, such as the -inf one might give to pruned weights).

    Args:
      scores: float arrays (NaN ranks lowest).
      alive: boolean arrays of the same shapes; only True entries can be kept.
      k: how many to keep.

    Returns:
      A boolean keep array per score array.
    """
    scores = [np.where(np.isnan(s), -np.inf, s) if np.isnan(s).any() else s for s in scores]
    live = np.concatenate([s[a] for s, a in zip(scores, alive)])
    if k >= live.size:
        return [a.copy() for a in alive]
    if k <= 0:
        return [np.zeros_like(a) for a in alive]
    threshold = np.partition(live, live.size - k)[live.size - k]
    keeps = [(s > threshold) & a for s, a in zip(scores, alive)]
    short = k - sum(int(np.count_nonzero(keep)) for keep in keeps)
    for s, a, keep in zip(scores, alive, keeps):
        if short == 0:
            break
        ties = np.flatnonzero((s == threshold) & a)[:short]
        keep.flat[ties] = True
        short -= ties.size
    return keeps


def _check_fraction(value, argument):
    values = value.values() if isinstance(value, dict) else [value]
    for v in values:
        # True would pass as 1.0 (prune everything): a bool is not an amount.
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not 0.0 <= v <= 1.0:
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
      exclude: layer names or weight paths never to prune (one, or a list).

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
    # One name is one entry: "d1" is never the layers "d" and "1".
    exclude = (exclude,) if isinstance(exclude, str) else tuple(exclude)
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
    alive = {t.path: t.mask.numpy() for t in prunable_weights(model)}
    keep_counts = _keep_counts(targets, values, alive, argument, scope)
    if not targets:
        return _as_mask_set(alive)

    scores = criterion.scores(model, targets)
    for t in targets:
        shape = np.shape(scores[t.path])
        if shape != tuple(t.kernel.shape):
            raise ValueError(
                f"criterion: scores for '{t.path}' have shape {shape}, "
                f"expected {tuple(t.kernel.shape)}."
            )
    for group, k in keep_counts:
        # Only weights alive now compete: a pruned weight never wins back its place.
        keeps = _top_k([np.asarray(scores[t.path]) for t in group],
                       [alive[t.path] for t in group], k)
        for t, keep in zip(group, keeps):
            alive[t.path] = keep
            t.mask.assign(keep)
            t.kernel.assign(apply_mask(t.kernel, keep))
    return _as_mask_set(alive)


def _as_mask_set(alive):
    return {path: keep.astype(np.float32) for path, keep in alive.items()}


def _keep_counts(targets, values, alive, argument, scope):
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
        remaining = sum(int(np.count_nonzero(alive[t.path])) for t in group)
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
