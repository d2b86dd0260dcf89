"""VGG-11/16/19 for CIFAR (Simonyan & Zisserman 2015 configurations A, D, E).

The CIFAR variant of Liu et al. 2017/2019 (network slimming, "Rethinking the
value of network pruning") and of open_lth (Frankle et al. 2020): every 3x3
convolution is followed by BatchNorm and ReLU; blocks 1-4 end in a 2x2
max-pool, block 5 does not; the head is a global average pool and ONE dense
output layer (the "avg-pool, 10" of Frankle & Carbin 2019, Figure 2 — on 32x32
inputs the last feature map is 2x2, so this equals their AvgPool2d(2)). No
4096-wide fc layers. Convolutions carry no bias since BatchNorm follows
(open_lth keeps one; it is redundant with BN's beta).

Layers: block{b}_conv{c}, block{b}_bn{c}, block{b}_relu{c}, block{b}_pool,
then pool (global average) and output (logits). VGG-19 at 32x32x3 / 10 classes
has 20.04M parameters (Frankle & Carbin 2019: 20.0M).
"""

import keras

from lth_keras.layers import MaskedConv2D, MaskedDense
from lth_keras.models.common import DEFAULT_INITIALIZER, LayerInitializers, batch_norm
from lth_keras.models.registry import register

# Conv widths of each block; configurations A (11), D (16) and E (19).
PLANS = {
    11: ((64,), (128,), (256, 256), (512, 512), (512, 512)),
    16: ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512)),
    19: ((64, 64), (128, 128), (256,) * 4, (512,) * 4, (512,) * 4),
}


def vgg(input_shape, num_classes, *, depth, seed=None, initializer=DEFAULT_INITIALIZER):
    """The CIFAR VGG of ``depth`` 11, 16 or 19 (see the module docstring)."""
    if depth not in PLANS:
        raise ValueError(f"`depth` must be one of {sorted(PLANS)}, got {depth}")
    inits = LayerInitializers(initializer, seed)
    inputs = keras.Input(shape=input_shape, name="input")
    x = inputs
    plan = PLANS[depth]
    for b, widths in enumerate(plan, start=1):
        for c, filters in enumerate(widths, start=1):
            name = f"block{b}_conv{c}"
            x = MaskedConv2D(
                filters, 3, padding="same", use_bias=False,
                kernel_initializer=inits(name), name=name,
            )(x)
            x = batch_norm(f"block{b}_bn{c}")(x)
            x = keras.layers.ReLU(name=f"block{b}_relu{c}")(x)
        if b < len(plan):
            x = keras.layers.MaxPooling2D(2, name=f"block{b}_pool")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    outputs = MaskedDense(num_classes, kernel_initializer=inits("output"), name="output")(x)
    return keras.Model(inputs, outputs, name=f"vgg{depth}")


@register("vgg11")
def vgg11(input_shape, num_classes, **options):
    """CIFAR VGG-11 (configuration A) with BatchNorm."""
    return vgg(input_shape, num_classes, depth=11, **options)


@register("vgg16")
def vgg16(input_shape, num_classes, **options):
    """CIFAR VGG-16 (configuration D) with BatchNorm."""
    return vgg(input_shape, num_classes, depth=16, **options)


@register("vgg19")
def vgg19(input_shape, num_classes, **options):
    """CIFAR VGG-19 (configuration E) with BatchNorm, as in Frankle & Carbin 2019."""
    return vgg(input_shape, num_classes, depth=19, **options)
