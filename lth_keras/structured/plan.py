"""What a gated model's zero gates remove: dead layers and kept channels.

Both the compaction (:mod:`lth_keras.structured.surgery`) and the effective
cost (:mod:`lth_keras.structured.cost`) read one :class:`Removal`, so the
smaller model and the count of what it costs can never disagree.
"""

import dataclasses

import numpy as np

from lth_keras.layers.gates import BlockGate, ChannelGate
from lth_keras.structured.groups import MERGES, channel_groups, group_of_layers, nodes_in_order


@dataclasses.dataclass
class Removal:
    """The structure a gated model's zero gates remove.

    Attributes:
      groups: the model's channel groups.
      keep: ``{group name: bool array}`` of the channels kept, for every group.
      dead: names of layers that no longer reach the output (removed branches).
      dropped_inputs: ``{merge layer name: set of input positions}`` of
        residual branches whose BlockGate is 0.
      out_group, in_group: producer / consumer name -> its ChannelGroup.
    """

    groups: list
    keep: dict
    dead: set
    dropped_inputs: dict
    out_group: dict
    in_group: dict

    def kept_out(self, layer_name):
        """Bool array of the output channels a producer keeps (None: not a producer)."""
        group = self.out_group.get(layer_name)
        return None if group is None else self.keep[group.name]

    def kept_in(self, layer_name):
        """Bool array of the input rows a consumer keeps (None: all)."""
        group = self.in_group.get(layer_name)
        if group is None:
            return None
        positions = dict(group.consumers)[layer_name]
        return np.tile(self.keep[group.name], positions)


def _consumers(order):
    out = {}
    for node in order:
        for i, t in enumerate(node.input_tensors):
            out.setdefault(id(t), []).append((node, i))
    return out


def removal(model):
    """The :class:`Removal` of a (block- and/or channel-) gated Functional model.

    Raises:
      ValueError: if a zero BlockGate does not feed a merge (Add) directly, or a
        zero ChannelGate sits on a group that cannot be removed exactly.
    """
    order = nodes_in_order(model)
    consumers = _consumers(order)
    dropped = {}
    for node in order:
        gate = node.operation
        if not (isinstance(gate, BlockGate) and float(gate.values()) == 0.0):
            continue
        readers = consumers.get(id(node.output_tensors[0]), [])
        if len(readers) != 1 or not isinstance(readers[0][0].operation, MERGES):
            raise ValueError(f"model: BlockGate '{gate.name}' is 0 but does not feed one Add directly.")
        merge, position = readers[0]
        dropped.setdefault(merge.operation.name, set()).add(position)
    for name, positions in dropped.items():
        if len(positions) == len(model.get_layer(name)._inbound_nodes[0].input_tensors):
            raise ValueError(f"model: every input of '{name}' is gated to 0.")

    # Live layers: reachable backwards from the outputs, skipping dropped branches.
    producer_node = {id(t): node for node in order for t in node.output_tensors}
    live, stack = set(), [producer_node[id(t)] for t in model.outputs]
    seen = set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        live.add(node.operation.name)
        skip = dropped.get(node.operation.name, set())
        for i, t in enumerate(node.input_tensors):
            if i not in skip:
                stack.append(producer_node[id(t)])
    dead = {node.operation.name for node in order} - live

    groups = channel_groups(model)
    out_group, in_group = group_of_layers(groups)
    keep = {}
    for group in groups:
        kept = np.ones(group.channels, dtype=bool)
        for f in group.followers:
            layer = model.get_layer(f)
            if isinstance(layer, ChannelGate) and f not in dead:
                kept &= layer.values() != 0
        if not kept.all() and not group.removable:
            raise ValueError(
                f"model: channels of group '{group.name}' are gated to 0 but the group "
                f"cannot be removed exactly ({group.reason})."
            )
        keep[group.name] = kept
    return Removal(groups, keep, dead, dropped, out_group, in_group)
