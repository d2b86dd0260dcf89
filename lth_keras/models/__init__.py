"""The model zoo: functional Keras models built from lth_keras masked layers.

``build(name, input_shape, num_classes, seed=...)`` makes any model in
``MODELS``; ``register(name)`` adds a builder. Every model outputs logits: use
losses with ``from_logits=True``.
"""

from lth_keras.models.common import LayerInitializers
from lth_keras.models.registry import MODELS, build, register

# Importing the zoo modules registers their models.
from lth_keras.models.conv import conv_net
from lth_keras.models.lenet import lenet300_100
from lth_keras.models.resnet import (
    ZeroPadShortcut,
    basic_block,
    cifar_resnet,
    residual_blocks,
    resnet,
)
from lth_keras.models.vgg import vgg

__all__ = [
    "MODELS",
    "LayerInitializers",
    "ZeroPadShortcut",
    "basic_block",
    "build",
    "cifar_resnet",
    "conv_net",
    "lenet300_100",
    "register",
    "residual_blocks",
    "resnet",
    "vgg",
]
