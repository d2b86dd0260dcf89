"""Coupled channel groups, found from a Functional model's graph.

Removing filter c of a convolution also removes entry c of the BatchNorm after
it and input channel c of every layer that reads it; and when two tensors meet
in a residual add, channel c of both sides is one channel, so every conv that
feeds the add loses filter c together. Such a set of layers is a
:class:`ChannelGroup` (the dependency-graph idea of Torch-Pruning, Fang et al.
2023, "DepGraph"), pruned as one unit.

The walk gives every tensor a *channel space*. A producer (Conv1D/2D/3D or
Dense) opens a new space for its output channels; per-channel layers
(BatchNorm, ChannelGate) and zero-preserving element-wise layers (ReLU,
pooling, dropout, BlockGate, ...) pass it on; element-wise merges (Add, ...)
join their inputs' spaces into one; Flatten passes it on with each channel
spread over the flattened positions. Any other layer, the model's inputs and
its outputs make the spaces they touch non-removable, as do activations with
f(0) != 0 (a removed channel would not read as 0 downstream).
"""

import dataclasses
import math

import keras
import numpy as np

from lth_keras.layers.gates import BlockGate, ChannelGate

PRODUCERS = (keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D, keras.layers.Dense)
# Element-wise layers that map 0 to 0 and keep the channel axis last.
PASSTHROUGH = (
    keras.layers.ReLU, keras.layers.Dropout, keras.layers.SpatialDropout1D,
    keras.layers.SpatialDropout2D, keras.layers.SpatialDropout3D, keras.layers.MaxPooling1D,
    keras.layers.MaxPooling2D, keras.layers.MaxPooling3D, keras.layers.AveragePooling1D,
    keras.layers.AveragePooling2D, keras.layers.AveragePooling3D,
    keras.layers.GlobalAveragePooling1D, keras.layers.GlobalAveragePooling2D,
    keras.layers.GlobalAveragePooling3D, keras.layers.GlobalMaxPooling1D,
    keras.layers.GlobalMaxPooling2D, keras.layers.GlobalMaxPooling3D,
    keras.layers.ZeroPadding1D, keras.layers.ZeroPadding2D, keras.layers.ZeroPadding3D,
    keras.layers.Identity, keras.layers.LeakyReLU, keras.layers.ELU, BlockGate,
)
MERGES = (keras.layers.Add, keras.layers.Subtract, keras.layers.Multiply,
          keras.layers.Average, keras.layers.Maximum, keras.layers.Minimum)


@dataclasses.dataclass
class ChannelGroup:
    """Layers whose channels are removed together.

    Attributes:
      name: the first producer's name (the group's key in score dicts).
      channels: how many channels the group has.
      producers: layers whose output channels are the group (kernel's last axis, bias).
      followers: per-channel layers on the group (BatchNorm, ChannelGate).
      consumers: ``(layer name, positions)`` of layers whose kernel input axis
        (-2) reads the group; ``positions`` > 1 after a Flatten (input row of
        channel c at position p is ``p * channels + c``).
      anchors: after which layer each producer's channel gate goes: its BatchNorm
        when one follows it directly, else the producer itself.
      removable: whether channels of the group can be removed exactly.
      reason: why not, when not.
    """

    name: str
    channels: int
    producers: list = dataclasses.field(default_factory=list)
    followers: list = dataclasses.field(default_factory=list)
    consumers: list = dataclasses.field(default_factory=list)
    anchors: list = dataclasses.field(default_factory=list)
    removable: bool = True
    reason: str = ""


class _Space:
    """A channel space during the walk; merged spaces point to one root."""

    def __init__(self, channels, producer=None):
        self.parent = self
        self.channels = channels
        self.producers = [producer] if producer else []
        self.followers, self.consumers = [], []
        self.reasons = []

    def root(self):
        space = self
        while space.parent is not space:
            space = space.parent
        return space

    def block(self, reason):
        self.root().reasons.append(reason)


def _merge(a, b, where):
    a, b = a.root(), b.root()
    if a is b:
        return a
    if a.channels != b.channels:
        a.block(f"{where} joins {a.channels} and {b.channels} channels")
    b.parent = a
    for attr in ("producers", "followers", "consumers", "reasons"):
        getattr(a, attr).extend(getattr(b, attr))
    return a


def _zero_preserving(activation):
    value = keras.ops.convert_to_numpy(activation(keras.ops.zeros((1,))))
    return bool(np.all(value == 0))


def nodes_in_order(model):
    """The model's graph nodes from inputs to outputs (``Functional`` only)."""
    if not isinstance(model, keras.Model) or not hasattr(model, "_nodes_by_depth"):
        raise ValueError(f"model: expected a Functional keras.Model, got {type(model).__name__}.")
    depths = sorted(model._nodes_by_depth, reverse=True)
    return [node for d in depths for node in model._nodes_by_depth[d]]


def _channels_last(layer):
    return getattr(layer, "data_format", "channels_last") == "channels_last"


def channel_groups(model):
    """The :class:`ChannelGroup` s of a Functional model, in graph order.

    Raises:
      ValueError: if ``model`` is not a Functional model (wrap a Sequential
        model with :func:`lth_keras.structured.gating.as_functional` first).
    """
    spaces = {}  # id(KerasTensor) -> (_Space, positions)
    consumers_of = {}  # id(KerasTensor) -> number of nodes reading it
    order = nodes_in_order(model)
    for node in order:
        for t in node.input_tensors:
            consumers_of[id(t)] = consumers_of.get(id(t), 0) + 1
    created = []
    anchors = {}  # producer name -> anchor layer name
    for node in order:
        layer = node.operation
        ins = [spaces.get(id(t)) for t in node.input_tensors]
        outs = node.output_tensors
        if isinstance(layer, keras.layers.InputLayer) or not node.input_tensors:
            for t in outs:
                space = _Space(t.shape[-1])
                space.block("it is a model input")
                spaces[id(t)] = (space, 1)
            continue
        if isinstance(layer, PRODUCERS) and getattr(layer, "groups", 1) == 1 and _channels_last(layer):
            space, positions = ins[0]
            space.root().consumers.append((layer.name, positions))
            out = _Space(outs[0].shape[-1], layer.name)
            created.append(out)
            spaces[id(outs[0])] = (out, 1)
            anchors[layer.name] = layer.name
            continue
        if isinstance(layer, (keras.layers.BatchNormalization, ChannelGate)):
            space, positions = ins[0]
            axis = getattr(layer, "axis", -1)
            axis = axis[0] if isinstance(axis, (list, tuple)) and len(axis) == 1 else axis
            if positions != 1 or axis not in (-1, len(node.input_tensors[0].shape) - 1):
                space.block(f"'{layer.name}' is not per-channel on this tensor")
            space.root().followers.append(layer.name)
            spaces[id(outs[0])] = (space, positions)
            source = node.input_tensors[0]._keras_history.operation
            if (isinstance(layer, keras.layers.BatchNormalization) and source.name in anchors
                    and consumers_of.get(id(node.input_tensors[0])) == 1):
                anchors[source.name] = layer.name
            elif isinstance(layer, keras.layers.BatchNormalization):
                space.block(f"BatchNorm '{layer.name}' does not directly follow its producer")
            continue
        activation = getattr(layer, "activation", None)
        if isinstance(layer, PASSTHROUGH) or (
            isinstance(layer, keras.layers.Activation) and _zero_preserving(activation)
        ):
            if isinstance(layer, PASSTHROUGH) and not _channels_last(layer):
                ins[0][0].block(f"'{layer.name}' is channels_first")
            spaces[id(outs[0])] = ins[0]
            continue
        if isinstance(layer, keras.layers.Flatten) and _channels_last(layer):
            space, positions = ins[0]
            spatial = node.input_tensors[0].shape[1:-1]
            if any(d is None for d in spatial):
                space.block(f"Flatten '{layer.name}' has an unknown spatial size")
            spaces[id(outs[0])] = (space, positions * math.prod(d or 1 for d in spatial))
            continue
        if isinstance(layer, MERGES):
            space = ins[0][0]
            for other, positions in ins[1:]:
                space = _merge(space, other, f"'{layer.name}'")
                if positions != ins[0][1]:
                    space.block(f"'{layer.name}' merges flattened and unflattened tensors")
            spaces[id(outs[0])] = (space, ins[0][1])
            continue
        for entry in ins:
            if entry is not None:
                entry[0].block(f"'{layer.name}' ({type(layer).__name__}) is not supported")
        for t in outs:
            space = _Space(t.shape[-1])
            space.block(f"it comes from unsupported '{layer.name}'")
            spaces[id(t)] = (space, 1)
    for t in model.outputs:
        spaces[id(t)][0].block("it reaches the model output")

    rank = {}  # layer name -> first position in graph order
    for i, node in enumerate(order):
        rank.setdefault(node.operation.name, i)
    groups, seen = [], set()
    for space in created:
        root = space.root()
        if id(root) in seen:
            continue
        seen.add(id(root))
        reasons = list(dict.fromkeys(root.reasons))
        producers = sorted(root.producers, key=rank.get)
        groups.append(ChannelGroup(
            name=producers[0],
            channels=int(root.channels),
            producers=producers,
            followers=sorted(set(root.followers), key=rank.get),
            consumers=sorted(set(root.consumers), key=lambda c: rank[c[0]]),
            anchors=[anchors[p] for p in producers],
            removable=not reasons,
            reason="; ".join(reasons),
        ))
    return groups


def removable_groups(model):
    """The groups whose channels can be removed exactly."""
    return [g for g in channel_groups(model) if g.removable]


def group_of_layers(groups):
    """``(producer -> group, consumer -> group)`` lookups by layer name."""
    out_group, in_group = {}, {}
    for g in groups:
        for p in g.producers:
            out_group[p] = g
        for c, _ in g.consumers:
            in_group[c] = g
    return out_group, in_group
