"""Compaction: a gated model into a physically smaller plain Keras model.

:func:`compact` drops what the model's zero gates switch off, so the smaller
model computes the same function with less work (Jordao et al. 2023 build the
pruned network "copying kept weights, no masking"):

- a residual branch whose BlockGate is 0 is gone, its Add becomes the shortcut,
  and the block's output ReLU goes too when its input is already a ReLU output;
- a channel whose ChannelGate is 0 is gone from every producer of its group
  (the kernel's last axis and the bias), from the group's BatchNorms, and from
  the input axis of every layer that reads the group;
- gate values other than 0 are folded into the layer before the gate (a
  BatchNorm's gamma and beta, or a linear/ReLU producer's kernel and bias);
- masks are folded into kernels and every layer is a plain Keras layer.
"""

import keras
import numpy as np

from lth_keras.layers.gates import BlockGate, ChannelGate
from lth_keras.layers.masked import MaskedLayer, plain_class
from lth_keras.structured.groups import PRODUCERS, nodes_in_order
from lth_keras.structured.plan import removal
from lth_keras.wrapping import copy_out_of_masked

_GATES = (ChannelGate, BlockGate)


def _is_plain_relu(layer):
    return (isinstance(layer, keras.layers.ReLU) and layer.max_value is None
            and not layer.negative_slope and not layer.threshold)


def _kernel(layer):
    """The layer's kernel with its mask folded in, as NumPy."""
    if isinstance(layer, MaskedLayer):
        return layer.kernel.numpy() * layer.kernel_mask.numpy()
    return layer.kernel.numpy()


class _Graph:
    """Who produces and who reads each tensor of the old model."""

    def __init__(self, model):
        self.order = nodes_in_order(model)
        self.producer = {id(t): n for n in self.order for t in n.output_tensors}
        self.readers = {}
        for n in self.order:
            for t in n.input_tensors:
                self.readers.setdefault(id(t), []).append(n)

    def source(self, tensor):
        return self.producer[id(tensor)]


def _folds(model, graph, plan):
    """``{layer name: per-channel multiplier}`` of the gates folded into each layer."""
    folds = {}
    for node in graph.order:
        gate = node.operation
        if not isinstance(gate, _GATES) or gate.name in plan.dead:
            continue
        values = np.broadcast_to(gate.values(), (node.input_tensors[0].shape[-1],)).astype(np.float64)
        target = graph.source(node.input_tensors[0])
        while isinstance(target.operation, _GATES):  # gates in a row fold into one layer
            target = graph.source(target.input_tensors[0])
        layer = target.operation
        relevant = values if isinstance(gate, BlockGate) else values[values != 0]
        if np.all(relevant == 1):
            continue
        chain_ok = len(graph.readers[id(target.output_tensors[0])]) == 1
        if isinstance(layer, keras.layers.BatchNormalization):
            ok = chain_ok and layer.scale and layer.center
        elif isinstance(layer, PRODUCERS):
            activation = keras.activations.serialize(layer.activation)
            name = activation if isinstance(activation, str) else activation.get("config")
            ok = chain_ok and (name == "linear" or (name == "relu" and np.all(values >= 0)))
        else:
            ok = False
        if not ok:
            raise ValueError(
                f"model: gate '{gate.name}' has values other than 0 and 1 that cannot be "
                f"folded into '{layer.name}' ({type(layer).__name__})."
            )
        folds[layer.name] = folds.get(layer.name, 1.0) * values
    return folds


def _new_weights(layer, plan, folds, follower_group):
    """The compacted layer's weights ``{attribute: array}``, or None to copy as is."""
    fold = folds.get(layer.name)
    if isinstance(layer, PRODUCERS):
        kernel = _kernel(layer)
        bias = layer.bias.numpy() if layer.use_bias else None
        if fold is not None:
            kernel = kernel * fold
            bias = None if bias is None else bias * fold
        kept_in, kept_out = plan.kept_in(layer.name), plan.kept_out(layer.name)
        if kept_in is not None:
            kernel = np.compress(kept_in, kernel, axis=-2)
        if kept_out is not None:
            kernel = np.compress(kept_out, kernel, axis=-1)
            bias = None if bias is None else bias[kept_out]
        return {"kernel": kernel, "bias": bias}
    if isinstance(layer, keras.layers.BatchNormalization):
        group = follower_group.get(layer.name)
        keep = plan.keep[group.name] if group is not None else slice(None)
        out = {}
        for attr in ("gamma", "beta", "moving_mean", "moving_variance"):
            var = getattr(layer, attr, None)
            if var is None:
                continue
            value = var.numpy()
            if fold is not None and attr in ("gamma", "beta"):
                value = value * fold
            out[attr] = value[keep]
        return out
    return None


def compact(model):
    """The physically smaller plain Keras model of a gated (or plain) model.

    Outputs equal ``model``'s (inference mode) up to float rounding.

    Raises:
      ValueError: if a gate cannot be removed or folded exactly, or a channel
        group would keep no channel.
    """
    plan = removal(model)
    graph = _Graph(model)
    folds = _folds(model, graph, plan)
    follower_group = {f: g for g in plan.groups for f in g.followers}
    for group in plan.groups:
        live = [p for p in group.producers if p not in plan.dead]
        if live and not plan.keep[group.name].any():
            raise ValueError(f"model: every channel of group '{group.name}' is gated to 0.")

    # Layers that become the identity: gates, reduced merges, ReLUs of ReLU outputs.
    reduced, redundant = {}, set()

    def real_source(tensor):
        node = graph.source(tensor)
        op = node.operation
        if isinstance(op, _GATES) or op.name in redundant:
            return real_source(node.input_tensors[0])
        if op.name in reduced:
            return real_source(node.input_tensors[reduced[op.name]])
        return op

    for node in graph.order:
        op = node.operation
        if op.name in plan.dead:
            continue
        dropped = plan.dropped_inputs.get(op.name, set())
        remaining = [i for i in range(len(node.input_tensors)) if i not in dropped]
        if dropped and len(remaining) == 1:
            reduced[op.name] = remaining[0]
        elif (_is_plain_relu(op) and graph.source(node.input_tensors[0]).operation.name in reduced
              and _is_plain_relu(real_source(node.input_tensors[0]))):
            redundant.add(op.name)

    def clone_function(layer):
        config = layer.get_config()
        if isinstance(layer, PRODUCERS) and layer.name not in plan.dead:
            kept = plan.kept_out(layer.name)
            if kept is not None:
                key = "units" if isinstance(layer, keras.layers.Dense) else "filters"
                config[key] = int(kept.sum())
        if isinstance(layer, _GATES):
            return keras.layers.Identity(name=layer.name)
        return plain_class(layer).from_config(config)

    def call_function(layer, *args, **kwargs):
        name = layer.name
        if name in plan.dead or isinstance(layer, keras.layers.Identity) or name in redundant:
            return args[0]
        if name in reduced:
            return args[0][reduced[name]]
        dropped = plan.dropped_inputs.get(name)
        if dropped:
            return layer([t for i, t in enumerate(args[0]) if i not in dropped], **kwargs)
        return layer(*args, **kwargs)

    compacted = keras.models.clone_model(
        model, clone_function=clone_function, call_function=call_function)
    for new in compacted.layers:
        if not new.weights:
            continue
        old = model.get_layer(new.name)
        values = _new_weights(old, plan, folds, follower_group)
        if values is None:
            copy_out_of_masked(old, new)
            continue
        for attr, value in values.items():
            if value is not None:
                getattr(new, attr).assign(value)
    return compacted
