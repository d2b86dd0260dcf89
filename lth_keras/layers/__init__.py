"""Keras 3 layers of lth_keras: masked kernels (and, later, gates)."""

from lth_keras.layers.masked import (
    MASKED_TWINS,
    MaskConstraint,
    MaskedConv1D,
    MaskedConv2D,
    MaskedConv3D,
    MaskedDense,
    MaskedDepthwiseConv2D,
    MaskedLayer,
    MaskedSeparableConv2D,
    masked_twin_class,
    plain_class,
)
from lth_keras.layers.gates import BlockGate, ChannelGate
