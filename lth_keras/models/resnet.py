"""ResNets of He et al. 2016 built from one ``basic_block``, with blocks findable by name.

``resnet20`` .. ``resnet110``: the CIFAR ResNets of He et al. 2016 (Section 4.2):
a 3x3 stem of 16 filters, three stages of n = (depth - 2) / 6 basic blocks of
16, 32 and 64 filters (stride 2 at the first block of stages 2 and 3), global
average pool, one dense output layer. ``resnet18``: the ImageNet basic-block
ResNet-18 of He et al. 2016 (four stages of two blocks, 64..512 filters) with
the small-input stem common in CIFAR code: one 3x3 stride-1 convolution and no
max-pool. (Frankle & Carbin 2019 call the 16/32/64 CIFAR net with 274K weights
"Resnet-18"; that network is ``resnet20`` here.)

Shortcuts of downsampling blocks default to a 1x1 convolution + BatchNorm
projection (He et al.'s option B), as in open_lth, the code of Frankle et al.
2020; ``shortcut="zero_pad"`` gives option A (stride-subsampled identity with
zero channels), which He et al. used for their CIFAR results (ResNet-20 0.27M).

Every layer of a block shares the prefix ``stage{s}_block{b}``: ``_conv1``,
``_bn1``, ``_relu1``, ``_conv2``, ``_bn2``, [``_gate``], ``_add``, ``_out`` and,
in downsampling blocks, ``_shortcut_conv`` + ``_shortcut_bn`` or
``_shortcut_pad``. ``residual_blocks(model)`` lists them.
"""

import re

import keras
from keras import ops

from lth_keras.layers import MaskedConv2D, MaskedDense
from lth_keras.models.common import DEFAULT_INITIALIZER, LayerInitializers, batch_norm
from lth_keras.models.registry import register

SHORTCUTS = ("projection", "zero_pad")


@keras.saving.register_keras_serializable(package="lth_keras")
class ZeroPadShortcut(keras.layers.Layer):
    """Option A shortcut of He et al. 2016: subsample by ``stride``, zero-pad channels.

    The extra channels are split evenly before and after the input's, as in the
    common CIFAR re-implementations; no parameters.
    """

    def __init__(self, filters, stride=1, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.stride = int(stride)

    def call(self, inputs):
        x = inputs[:, :: self.stride, :: self.stride, :] if self.stride > 1 else inputs
        extra = self.filters - x.shape[-1]
        if extra < 0:
            raise ValueError(f"cannot zero-pad {x.shape[-1]} channels down to {self.filters}")
        return ops.pad(x, [[0, 0], [0, 0], [0, 0], [extra // 2, extra - extra // 2]])

    def compute_output_shape(self, input_shape):
        def sub(n):
            return None if n is None else -(-n // self.stride)

        batch, height, width, _ = input_shape
        return (batch, sub(height), sub(width), self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "stride": self.stride}


def _conv(filters, kernel_size, stride, name, inits):
    return MaskedConv2D(
        filters, kernel_size, strides=stride, padding="same", use_bias=False,
        kernel_initializer=inits(name), name=name,
    )


def basic_block(
    x, filters, stride, prefix, *, initializers=None, shortcut="projection", block_gate=None
):
    """Basic residual block relu(F(x) + shortcut(x)), F = conv-bn-relu-conv-bn.

    The block downsamples (and gets a ``shortcut`` layer instead of the identity)
    when ``stride != 1`` or the width changes. ``block_gate``, if given, is a
    factory ``name -> keras.layers.Layer`` whose layer (named ``{prefix}_gate``)
    is applied to F(x) before the add: the one place a block gate plugs in.
    ``initializers`` is a ``LayerInitializers`` (default: unseeded Glorot normal).
    """
    if shortcut not in SHORTCUTS:
        raise ValueError(f"`shortcut` must be one of {SHORTCUTS}, got {shortcut!r}")
    inits = initializers or LayerInitializers()
    y = _conv(filters, 3, stride, f"{prefix}_conv1", inits)(x)
    y = batch_norm(f"{prefix}_bn1")(y)
    y = keras.layers.ReLU(name=f"{prefix}_relu1")(y)
    y = _conv(filters, 3, 1, f"{prefix}_conv2", inits)(y)
    y = batch_norm(f"{prefix}_bn2")(y)
    if block_gate is not None:
        y = block_gate(f"{prefix}_gate")(y)
    if stride == 1 and x.shape[-1] == filters:
        s = x
    elif shortcut == "projection":
        s = _conv(filters, 1, stride, f"{prefix}_shortcut_conv", inits)(x)
        s = batch_norm(f"{prefix}_shortcut_bn")(s)
    else:
        s = ZeroPadShortcut(filters, stride, name=f"{prefix}_shortcut_pad")(x)
    y = keras.layers.Add(name=f"{prefix}_add")([y, s])
    return keras.layers.ReLU(name=f"{prefix}_out")(y)


def resnet(
    input_shape,
    num_classes,
    *,
    blocks_per_stage,
    widths,
    seed=None,
    initializer=DEFAULT_INITIALIZER,
    shortcut="projection",
    block_gate=None,
    name="resnet",
):
    """A basic-block ResNet: 3x3 stem of ``widths[0]``, stages, global pool, output.

    Stage s has ``blocks_per_stage[s-1]`` blocks of ``widths[s-1]`` filters; the
    first block of every stage after the first has stride 2.
    """
    if len(blocks_per_stage) != len(widths):
        raise ValueError("`blocks_per_stage` and `widths` must have the same length")
    inits = LayerInitializers(initializer, seed)
    inputs = keras.Input(shape=input_shape, name="input")
    x = _conv(widths[0], 3, 1, "stem_conv", inits)(inputs)
    x = batch_norm("stem_bn")(x)
    x = keras.layers.ReLU(name="stem_relu")(x)
    for s, (blocks, filters) in enumerate(zip(blocks_per_stage, widths), start=1):
        for b in range(1, blocks + 1):
            stride = 2 if s > 1 and b == 1 else 1
            x = basic_block(
                x, filters, stride, f"stage{s}_block{b}",
                initializers=inits, shortcut=shortcut, block_gate=block_gate,
            )
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    outputs = MaskedDense(num_classes, kernel_initializer=inits("output"), name="output")(x)
    return keras.Model(inputs, outputs, name=name)


def cifar_resnet(input_shape, num_classes, *, depth, width=16, **options):
    """CIFAR ResNet-``depth`` of He et al. 2016: 3 stages of (depth - 2) / 6 blocks."""
    if depth < 8 or (depth - 2) % 6:
        raise ValueError(f"`depth` must be 6n + 2 with n >= 1, got {depth}")
    n = (depth - 2) // 6
    return resnet(
        input_shape, num_classes, blocks_per_stage=(n, n, n),
        widths=(width, 2 * width, 4 * width), name=f"resnet{depth}", **options,
    )


def _register_cifar(depth):
    def builder(input_shape, num_classes, **options):
        return cifar_resnet(input_shape, num_classes, depth=depth, **options)

    builder.__name__ = builder.__qualname__ = f"resnet{depth}"
    builder.__doc__ = f"CIFAR ResNet-{depth} of He et al. 2016 (see ``cifar_resnet``)."
    return register(f"resnet{depth}")(builder)


resnet20, resnet32, resnet56, resnet110 = (_register_cifar(d) for d in (20, 32, 56, 110))


@register("resnet18")
def resnet18(input_shape, num_classes, **options):
    """ResNet-18 of He et al. 2016 (2 blocks x 64/128/256/512), 3x3 stem, no max-pool."""
    return resnet(
        input_shape, num_classes, blocks_per_stage=(2, 2, 2, 2),
        widths=(64, 128, 256, 512), name="resnet18", **options,
    )


_BLOCK_PREFIX = re.compile(r"^(stage(\d+)_block(\d+))_")


def residual_blocks(model):
    """The residual blocks of a zoo ResNet, in forward order.

    Each is a dict: ``name`` (the prefix, e.g. ``"stage2_block1"``), ``stage``,
    ``block``, ``layers`` (names of all its layers) and ``downsampling``: True
    when the block's output shape differs from its input's (stride or width
    change). Downsampling blocks cannot be removed (Jordao et al. 2023).
    """
    blocks = {}
    for layer in model.layers:
        match = _BLOCK_PREFIX.match(layer.name)
        if match:
            prefix = match.group(1)
            entry = blocks.setdefault(prefix, {
                "name": prefix,
                "stage": int(match.group(2)),
                "block": int(match.group(3)),
                "layers": [],
            })
            entry["layers"].append(layer.name)
    for prefix, entry in blocks.items():
        block_in = model.get_layer(f"{prefix}_conv1").input.shape
        block_out = model.get_layer(f"{prefix}_out").output.shape
        entry["downsampling"] = tuple(block_in) != tuple(block_out)
    return list(blocks.values())
