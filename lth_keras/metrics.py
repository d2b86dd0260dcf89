"""Model size and compute, by the conventions of ShrinkBench (Blalock et al. 2020).

- compression ratio = all parameters / nonzero parameters, over the whole model;
- multiply-adds of a kernel = its size x the number of output positions it is
  applied at (so a conv costs Cin/groups * Cout * kh * kw * Hout * Wout), and
  its *effective* multiply-adds count only its nonzero entries;
- theoretical speed-up = dense multiply-adds / effective multiply-adds.

Bias additions, activations, pooling and normalisation are not counted, as in
ShrinkBench. BatchNorm moving statistics are state, not parameters (PyTorch's
buffers), and masks are not parameters either.
"""

import math

import numpy as np

from lth_keras.layers.masked import MASKED_TWINS, MaskedLayer, plain_class


def _kernels(layer):
    """``[(kernel values with the mask folded in, full size)]`` of a layer."""
    if isinstance(layer, MaskedLayer):
        return [(k.numpy() * m.numpy(), k.shape) for _, k, m in layer.kernel_and_mask()]
    names = MASKED_TWINS[plain_class(layer)].prunable_weights
    return [(getattr(layer, n).numpy(), getattr(layer, n).shape) for n in names]


def output_positions(layer):
    """How many times the layer applies its kernel to one example."""
    input_shape = layer.get_build_config()["input_shape"]
    shape = layer.compute_output_shape(input_shape)
    channels_first = getattr(layer, "data_format", "channels_last") == "channels_first"
    spatial = shape[2:] if channels_first else shape[1:-1]
    return math.prod(int(d) for d in spatial)


def _compute_layers(model):
    return [
        l for l in model._flatten_layers(include_self=False, recursive=True)
        if isinstance(l, tuple(MASKED_TWINS)) and l.built
    ]


def _is_parameter(var):
    return not var.name.endswith("_mask") and var.name not in ("moving_mean", "moving_variance")


def parameter_counts(model):
    """``{"total", "prunable", "nonzero"}`` parameter counts.

    ``prunable`` counts the masked kernels; ``nonzero`` counts nonzero entries
    after masks are applied.
    """
    total = nonzero = prunable = 0
    masked = {}
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, MaskedLayer):
            for _, k, m in layer.kernel_and_mask():
                masked[id(k)] = k.numpy() * m.numpy()
                prunable += int(np.size(m))
    seen = set()
    for var in model.weights:
        if id(var) in seen or not _is_parameter(var):
            continue
        seen.add(id(var))
        value = masked.get(id(var))
        value = var.numpy() if value is None else value
        total += value.size
        nonzero += int(np.count_nonzero(value))
    return {"total": total, "prunable": prunable, "nonzero": nonzero}


def compression_ratio(model):
    """All parameters / nonzero parameters (ShrinkBench)."""
    counts = parameter_counts(model)
    return counts["total"] / max(counts["nonzero"], 1)


def multiply_adds(model):
    """``(dense, effective)`` multiply-adds of one example's forward pass.

    Counted for every Dense, Conv, DepthwiseConv and SeparableConv layer
    (masked or not), from the layer's real output shape.
    """
    dense = effective = 0
    for layer in _compute_layers(model):
        positions = output_positions(layer)
        for value, shape in _kernels(layer):
            dense += math.prod(int(d) for d in shape) * positions
            effective += int(np.count_nonzero(value)) * positions
    return dense, effective


def theoretical_speedup(model):
    """Dense multiply-adds / effective multiply-adds (ShrinkBench)."""
    dense, effective = multiply_adds(model)
    return dense / max(effective, 1)


def report(model):
    """Every metric of this module in one flat dict (for results files), of
    the model's layers as built; a gated model as its gates leave it:
    :func:`lth_keras.structured.report`."""
    counts = parameter_counts(model)
    dense, effective = multiply_adds(model)
    return {
        "total_params": counts["total"],
        "prunable_params": counts["prunable"],
        "nonzero_params": counts["nonzero"],
        "compression_ratio": counts["total"] / max(counts["nonzero"], 1),
        "dense_multiply_adds": dense,
        "effective_multiply_adds": effective,
        "theoretical_speedup": dense / max(effective, 1),
    }
