"""Scores to structure: which blocks to drop, which filters to gate off.

Blocks: the p lowest-scored removable blocks (downsampling blocks never, as
Jordao et al. 2023 require). Filters: the same fraction of the channels of
every removable group, lowest-scored first (the uniform layerwise rate of Li et
al. 2017), optionally solved so that the multiply-adds left match a target,
which is how a filter-removal ticket is made comparable to a layer ticket.
"""

import numpy as np

from lth_keras.models import residual_blocks
from lth_keras.structured.cost import effective_report
from lth_keras.structured.gating import channel_gates, remove_blocks, removable_blocks
from lth_keras.structured.groups import channel_groups


def choose_blocks(model, scores, p):
    """The ``p`` removable blocks of lowest score (ties: the earlier block).

    Downsampling blocks are never chosen, whatever their scores.

    Raises:
      ValueError: if ``p`` exceeds the number of removable blocks, or a
        removable block has no score.
    """
    allowed = removable_blocks(model)
    if not 0 <= p <= len(allowed):
        raise ValueError(f"p: expected 0..{len(allowed)} (removable blocks of "
                         f"'{model.name}'), got {p}.")
    missing = [b for b in allowed if b not in scores]
    if missing:
        raise ValueError(f"scores: no score for blocks {missing}.")
    ranked = sorted(range(len(allowed)), key=lambda i: (scores[allowed[i]], i))
    return [allowed[i] for i in sorted(ranked[:p])]


def prune_blocks(model, p, criterion):
    """Scores the blocks by ``criterion``, gates the p lowest to 0; returns
    ``(removed names, scores)``."""
    blocks = residual_blocks(model)
    scores = criterion.scores(model, blocks)
    chosen = choose_blocks(model, scores, p)
    remove_blocks(model, chosen)
    return chosen, scores


def _gated_groups(model):
    groups = [g for g in channel_groups(model) if g.removable]
    gates = channel_gates(model, groups)
    if not gates:
        raise ValueError(f"model: '{model.name}' has no channel gates (use add_channel_gates).")
    return [g for g in groups if g.name in gates], gates


def filter_masks(groups, scores, fraction):
    """``{group: 0/1 array}`` removing ``round(fraction * channels)`` lowest-scored
    channels of every group, keeping at least one."""
    masks = {}
    for g in groups:
        score = np.asarray(scores[g.name], np.float64)
        if score.shape != (g.channels,):
            raise ValueError(f"scores: '{g.name}' has shape {score.shape}, expected ({g.channels},).")
        remove = min(int(round(fraction * g.channels)), g.channels - 1)
        order = np.argsort(score, kind="stable")  # ties: the earlier channel goes first
        mask = np.ones(g.channels, np.float32)
        mask[order[:remove]] = 0.0
        masks[g.name] = mask
    return masks


def prune_filters(model, fraction, criterion):
    """Gates off ``fraction`` of every gated group's channels, in place; returns the masks."""
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"fraction: expected a fraction in [0, 1), got {fraction!r}.")
    groups, gates = _gated_groups(model)
    masks = filter_masks(groups, criterion.scores(model, groups), fraction)
    for name, mask in masks.items():
        gates[name].assign(mask)
    return masks


def prune_filters_to_multiply_adds(model, target, criterion=None, steps=30, scores=None):
    """Gates off the uniform fraction of filters whose structured multiply-adds
    come closest to ``target``, in place; returns ``(fraction, masks)``.

    The fraction is found by bisection (multiply-adds fall as it grows).
    ``scores`` (``{group: array}``, e.g. saved earlier) replaces ``criterion``.
    """
    groups, gates = _gated_groups(model)
    if (criterion is None) == (scores is None):
        raise ValueError("criterion, scores: give exactly one of them.")
    scores = criterion.scores(model, groups) if scores is None else scores

    def cost(fraction):
        masks = filter_masks(groups, scores, fraction)
        for name, mask in masks.items():
            gates[name].assign(mask)
        return effective_report(model)["structured_multiply_adds"], masks

    low, high = 0.0, 1.0 - 1e-9
    best = (abs(cost(low)[0] - target), low)
    for _ in range(steps):
        middle = (low + high) / 2
        macs, _ = cost(middle)
        best = min(best, (abs(macs - target), middle))
        if macs > target:
            low = middle
        else:
            high = middle
    fraction = best[1]
    _, masks = cost(fraction)
    return fraction, masks
