"""Gates: multiplicative switches on channels and on residual branches.

A :class:`ChannelGate` multiplies each output channel of a Dense or Conv (the
last axis) by its own value; a :class:`BlockGate` multiplies a residual branch
by one scalar, so a block computes y = shortcut(x) + g * F(x). A gate is
learnable (``trainable=True``, optionally pushed towards 0 by an L1 penalty, as
network slimming pushes BN scales, Liu et al. 2017) or fixed (``trainable=False``:
a 0/1 switch, the structured counterpart of a weight mask). A gate at 0 makes its
channel or branch contribute exactly nothing, which is what
:mod:`lth_keras.structured.surgery` relies on to remove it physically.
"""

import keras
import numpy as np
from keras import ops


class _Gate(keras.layers.Layer):
    """Shared by both gates: one ``gate`` variable, an optional L1 penalty."""

    def __init__(self, initial_value=1.0, l1=0.0, **kwargs):
        super().__init__(**kwargs)
        if l1 < 0:
            raise ValueError(f"l1: expected >= 0, got {l1}")
        self.initial_value = float(initial_value)
        self.l1 = float(l1)
        self.supports_masking = True

    def _add_gate(self, shape):
        self.gate = self.add_weight(
            name="gate", shape=shape,
            initializer=keras.initializers.Constant(self.initial_value),
            trainable=self.trainable,
        )

    def call(self, inputs):
        gate = ops.cast(self.gate, inputs.dtype)
        # A fixed gate is a switch, not a parameter: it is never penalised.
        if self.l1 and self.trainable:
            self.add_loss(self.l1 * ops.sum(ops.abs(self.gate)))
        return inputs * gate

    def compute_output_shape(self, input_shape):
        return input_shape

    def values(self):
        """The gate's current value(s) as a NumPy array."""
        return np.asarray(self.gate.numpy())

    def assign(self, values):
        """Sets the gate's value(s); shapes must match."""
        values = np.asarray(values, dtype=self.gate.dtype)
        if values.shape != tuple(self.gate.shape):
            raise ValueError(
                f"values: shape {values.shape} does not match gate '{self.name}' "
                f"of shape {tuple(self.gate.shape)}."
            )
        self.gate.assign(values)

    def get_config(self):
        return {**super().get_config(), "initial_value": self.initial_value, "l1": self.l1}


@keras.saving.register_keras_serializable(package="lth_keras")
class ChannelGate(_Gate):
    """One value per channel (the last axis) of its input: y[..., c] = g[c] x[..., c].

    Placed after a Conv's BatchNorm (or after a Dense), a gate at 0 removes the
    filter: its BN output and everything downstream of it on that channel is 0.
    One ChannelGate layer may be called on several tensors (the producers of a
    residual add), tying their channels into one group.

    Args:
      initial_value: the value every channel starts at (1: no effect).
      l1: weight of ``l1 * sum(|g|)`` added to the model's losses when trainable.
      trainable: False for a fixed 0/1 switch.
    """

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(f"ChannelGate '{self.name}': the channel axis must be known.")
        self._add_gate((int(channels),))


@keras.saving.register_keras_serializable(package="lth_keras")
class BlockGate(_Gate):
    """One scalar g on a residual branch: the block computes shortcut(x) + g F(x).

    Plugs into the zoo's ``basic_block(..., block_gate=...)`` hook. With g fixed
    at 0 the block is the identity (or its shortcut) and can be removed
    (Jordao et al. 2023 remove whole residual blocks).
    """

    def build(self, input_shape):
        self._add_gate(())
