"""Size and compute of a gated model, counting only what its gates leave.

Extends :mod:`lth_keras.metrics` (ShrinkBench conventions, Blalock et al. 2020)
to gates: a block whose BlockGate is 0 costs nothing; a channel whose
ChannelGate is 0 removes its filter (kernel slice, bias, BatchNorm entries) and
the matching input channel of every layer that reads it. Gates themselves are
not counted: compaction folds them into the layer before them. The numbers equal
:func:`lth_keras.metrics.report` of :func:`lth_keras.structured.surgery.compact`
of the same model, without building it.
"""

import keras
import numpy as np

from lth_keras import metrics
from lth_keras.layers.gates import BlockGate, ChannelGate
from lth_keras.layers.masked import MASKED_TWINS, MaskedLayer
from lth_keras.structured.groups import PRODUCERS
from lth_keras.structured.plan import removal


def _slice(value, kept_in, kept_out):
    if kept_in is not None:
        value = np.compress(kept_in, value, axis=-2)
    if kept_out is not None:
        value = np.compress(kept_out, value, axis=-1)
    return value


def _layer_params(layer, plan, follower_group):
    """``(all, nonzero)`` parameters of a layer after structural removal."""
    if isinstance(layer, PRODUCERS):
        kernel = layer.kernel.numpy()
        if isinstance(layer, MaskedLayer):
            kernel = kernel * layer.kernel_mask.numpy()
        kept_out = plan.kept_out(layer.name)
        values = [_slice(kernel, plan.kept_in(layer.name), kept_out)]
        if layer.use_bias:
            bias = layer.bias.numpy()
            values.append(bias if kept_out is None else bias[kept_out])
    elif isinstance(layer, keras.layers.BatchNormalization):
        group = follower_group.get(layer.name)
        keep = slice(None) if group is None else plan.keep[group.name]
        values = [getattr(layer, a).numpy()[keep] for a in ("gamma", "beta")
                  if getattr(layer, a, None) is not None]
    else:
        masks = {id(m) for _, _, m in layer.kernel_and_mask()} if isinstance(layer, MaskedLayer) else set()
        folded = ({id(k): k.numpy() * m.numpy() for _, k, m in layer.kernel_and_mask()}
                  if isinstance(layer, MaskedLayer) else {})
        values = [folded.get(id(v), v.numpy()) for v in layer.weights
                  if id(v) not in masks and v.name not in ("moving_mean", "moving_variance")]
    return sum(v.size for v in values), sum(int(np.count_nonzero(v)) for v in values)


def effective_report(model):
    """:func:`lth_keras.metrics.report` of a gated model, gates taken into account.

    Keys: ``total_params`` and ``dense_multiply_adds`` of the model as built
    (gates excluded); ``structured_params`` and ``structured_multiply_adds``:
    what remains once zero gates remove blocks and channels (the compacted
    model's totals); ``nonzero_params`` and ``effective_multiply_adds``: of
    those, the nonzero weights (masks applied); ``compression_ratio`` and
    ``theoretical_speedup`` against the model as built; ``structured_speedup``:
    dense / structured multiply-adds (the gain of the structure alone).
    """
    plan = removal(model)
    follower_group = {f: g for g in plan.groups for f in g.followers}
    structured = nonzero = structured_macs = effective_macs = 0
    for layer in model.layers:
        if layer.name in plan.dead or isinstance(layer, (BlockGate, ChannelGate)) or not layer.weights:
            continue
        total, kept = _layer_params(layer, plan, follower_group)
        structured += total
        nonzero += kept
        if isinstance(layer, tuple(MASKED_TWINS)) and isinstance(layer, PRODUCERS):
            kernel = layer.kernel.numpy()
            if isinstance(layer, MaskedLayer):
                kernel = kernel * layer.kernel_mask.numpy()
            kernel = _slice(kernel, plan.kept_in(layer.name), plan.kept_out(layer.name))
            positions = metrics.output_positions(layer)
            structured_macs += kernel.size * positions
            effective_macs += int(np.count_nonzero(kernel)) * positions
        elif isinstance(layer, tuple(MASKED_TWINS)):
            raise ValueError(
                f"model: layer '{layer.name}' ({type(layer).__name__}) is not counted by "
                "effective_report; only Conv1D/2D/3D and Dense are."
            )
    gate_params = sum(int(np.prod(v.shape)) for l in model.layers
                      if isinstance(l, (BlockGate, ChannelGate)) for v in l.weights)
    base = metrics.report(model)
    total = base["total_params"] - gate_params
    dense = base["dense_multiply_adds"]
    return {
        "total_params": total,
        "structured_params": structured,
        "nonzero_params": nonzero,
        "compression_ratio": total / max(nonzero, 1),
        "dense_multiply_adds": dense,
        "structured_multiply_adds": structured_macs,
        "effective_multiply_adds": effective_macs,
        "theoretical_speedup": dense / max(effective_macs, 1),
        "structured_speedup": dense / max(structured_macs, 1),
    }


def report(model):
    """:func:`lth_keras.metrics.report`, counting a gated model as its gates
    leave it: a block gated 0 costs nothing, a channel gated 0 removes its
    filter and the next layer's inputs (:func:`effective_report`)."""
    layers = model._flatten_layers(include_self=False, recursive=True)
    if any(isinstance(l, (BlockGate, ChannelGate)) for l in layers):
        return effective_report(model)
    return metrics.report(model)
