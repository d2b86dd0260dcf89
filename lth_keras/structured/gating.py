"""Putting gates into models: block gates into zoo ResNets, channel gates anywhere.

A gated model computes exactly what the model without gates computes while its
gates are 1; setting gates to 0 removes blocks or filters *functionally*, and
:func:`lth_keras.structured.surgery.compact` then removes them physically.
"""

import keras
import numpy as np

from lth_keras.layers.gates import BlockGate, ChannelGate
from lth_keras.models import build, residual_blocks
from lth_keras.structured.groups import channel_groups


def as_functional(model):
    """``model`` itself if Functional; a Sequential model's layers as a Functional one."""
    if isinstance(model, keras.Sequential):
        inputs = keras.Input(model.inputs[0].shape[1:], name="input")
        x = inputs
        for layer in model.layers:
            x = layer(x)
        return keras.Model(inputs, x, name=model.name)
    return model


def gated_resnet(name, input_shape, num_classes, *, seed=None, trainable=False,
                 initial_value=1.0, l1=0.0, **options):
    """The zoo ResNet ``name`` with a :class:`BlockGate` on every residual branch.

    Gates start at ``initial_value`` (1: the plain ResNet's function and, for a
    given seed, its theta_0) and are fixed unless ``trainable``.
    """
    def block_gate(gate_name):
        return BlockGate(initial_value, l1=l1, trainable=trainable, name=gate_name)

    return build(name, input_shape, num_classes, seed=seed, block_gate=block_gate, **options)


def _clone_inserting(model, after):
    """A copy of ``model`` (same weights) with ``after[layer name](output)`` applied
    to the output of each named layer."""
    model = as_functional(model)

    def call_function(layer, *args, **kwargs):
        out = layer(*args, **kwargs)
        insert = after.get(layer.name)
        return insert(out) if insert is not None else out

    clone = keras.models.clone_model(
        model, clone_function=lambda l: type(l).from_config(l.get_config()),
        call_function=call_function,
    )
    for layer in model.layers:
        if layer.weights:
            clone.get_layer(layer.name).set_weights(layer.get_weights())
    return clone


def add_block_gates(model, *, trainable=False, initial_value=1.0, l1=0.0):
    """A copy of a zoo ResNet with a BlockGate after each block's ``_bn2``.

    Models built by :func:`gated_resnet` already have them and are returned as is.
    """
    blocks = residual_blocks(model)
    if not blocks:
        raise ValueError(f"model: '{model.name}' has no zoo residual blocks (stage*_block*).")
    if all(f"{b['name']}_gate" in b["layers"] for b in blocks):
        return model
    after = {
        f"{b['name']}_bn2": BlockGate(initial_value, l1=l1, trainable=trainable,
                                      name=f"{b['name']}_gate")
        for b in blocks
    }
    return _clone_inserting(model, after)


def add_channel_gates(model, *, trainable=False, initial_value=1.0, l1=0.0):
    """A copy of ``model`` with one :class:`ChannelGate` per removable channel group.

    The gate of a group is one layer (named ``<group>_channel_gate``) called
    after each of its producers' anchors (BatchNorm, or the producer), so the
    two sides of a residual add share one gate. Groups that already carry a
    ChannelGate are left alone.
    """
    model = as_functional(model)
    after = {}
    for group in channel_groups(model):
        if not group.removable or any(
            isinstance(model.get_layer(f), ChannelGate) for f in group.followers
        ):
            continue
        gate = ChannelGate(initial_value, l1=l1, trainable=trainable,
                           name=f"{group.name}_channel_gate")
        for anchor in group.anchors:
            after[anchor] = gate
    if not after:
        raise ValueError(f"model: '{model.name}' has no removable channel group to gate.")
    return _clone_inserting(model, after)


def block_gates(model):
    """``{block name: BlockGate}`` of a zoo ResNet, in forward order."""
    out = {}
    for b in residual_blocks(model):
        name = f"{b['name']}_gate"
        if name in b["layers"] and isinstance(model.get_layer(name), BlockGate):
            out[b["name"]] = model.get_layer(name)
    return out


def channel_gates(model, groups=None):
    """``{group name: ChannelGate}`` for each channel group that carries a gate."""
    out = {}
    for group in groups if groups is not None else channel_groups(model):
        for f in group.followers:
            if isinstance(model.get_layer(f), ChannelGate):
                out[group.name] = model.get_layer(f)
                break
    return out


def removable_blocks(model):
    """Names of the blocks that may be removed: all but downsampling ones
    (Jordao et al. 2023: a block that changes the shape cannot be dropped)."""
    return [b["name"] for b in residual_blocks(model) if not b["downsampling"]]


def remove_blocks(model, names):
    """Sets the block gates of ``names`` to 0, in place (other gates keep their values).

    Raises:
      ValueError: for an unknown or non-removable block, before any gate changes.
    """
    gates = block_gates(model)
    if not gates:
        raise ValueError(f"model: '{model.name}' has no block gates (use gated_resnet).")
    allowed = set(removable_blocks(model))
    for name in names:
        if name not in gates:
            raise ValueError(f"names: no block '{name}'; have {sorted(gates)}.")
        if name not in allowed:
            raise ValueError(f"names: block '{name}' downsamples and cannot be removed.")
    for name in names:
        gates[name].assign(np.float32(0.0))


def removed_blocks(model):
    """Names of the blocks whose gate is exactly 0."""
    return [name for name, gate in block_gates(model).items() if float(gate.values()) == 0.0]
