"""Conv-2, Conv-4 and Conv-6: the VGG-like CIFAR networks of Frankle & Carbin 2019.

Figure 2 of the paper: 3x3 convolutions 64, 64, max-pool / 128, 128, max-pool /
256, 256, max-pool (as many pairs as the depth allows), then fc 256, 256 and the
output layer; ReLU everywhere, max-pooling 2x2, no BatchNorm, no dropout.
Parameters (biases included) at 32x32x3 and 10 classes: Conv-2 4,301,642,
Conv-4 2,425,930, Conv-6 2,262,602. The paper's table says 4.3M, 2.4M and 1.7M:
the first two match, but the Conv-6 it describes has 2.26M (its convolutions
alone hold 1.14M and fc1 sees 4x4x256 inputs, 1.05M more), as other
re-implementations also find; we follow the described architecture.
"""

import keras

from lth_keras.layers import MaskedConv2D, MaskedDense
from lth_keras.models.common import DEFAULT_INITIALIZER, LayerInitializers
from lth_keras.models.registry import register

CONV_WIDTHS = (64, 128, 256)  # one width per conv pair
FC_WIDTHS = (256, 256)


def conv_net(
    input_shape, num_classes, *, pairs, seed=None, initializer=DEFAULT_INITIALIZER
):
    """Conv-N with N = 2 * ``pairs``: layers conv1..convN, pool1.., fc1, fc2, output."""
    if not 1 <= pairs <= len(CONV_WIDTHS):
        raise ValueError(f"`pairs` must be in 1..{len(CONV_WIDTHS)}, got {pairs}")
    inits = LayerInitializers(initializer, seed)
    inputs = keras.Input(shape=input_shape, name="input")
    x = inputs
    for p, filters in enumerate(CONV_WIDTHS[:pairs], start=1):
        for c in (2 * p - 1, 2 * p):
            name = f"conv{c}"
            x = MaskedConv2D(
                filters, 3, padding="same", activation="relu",
                kernel_initializer=inits(name), name=name,
            )(x)
        x = keras.layers.MaxPooling2D(2, name=f"pool{p}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    for f, units in enumerate(FC_WIDTHS, start=1):
        name = f"fc{f}"
        x = MaskedDense(units, activation="relu", kernel_initializer=inits(name), name=name)(x)
    outputs = MaskedDense(num_classes, kernel_initializer=inits("output"), name="output")(x)
    return keras.Model(inputs, outputs, name=f"conv{2 * pairs}")


@register("conv2")
def conv2(input_shape, num_classes, **options):
    """Conv-2 of Frankle & Carbin 2019: 64, 64, pool, fc 256, 256, output."""
    return conv_net(input_shape, num_classes, pairs=1, **options)


@register("conv4")
def conv4(input_shape, num_classes, **options):
    """Conv-4 of Frankle & Carbin 2019: conv-2 plus 128, 128, pool."""
    return conv_net(input_shape, num_classes, pairs=2, **options)


@register("conv6")
def conv6(input_shape, num_classes, **options):
    """Conv-6 of Frankle & Carbin 2019: conv-4 plus 256, 256, pool."""
    return conv_net(input_shape, num_classes, pairs=3, **options)
