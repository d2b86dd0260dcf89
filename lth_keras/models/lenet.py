"""LeNet-300-100 (LeCun et al. 1998), as pruned by Frankle & Carbin 2019."""

import keras

from lth_keras.layers import MaskedDense
from lth_keras.models.common import DEFAULT_INITIALIZER, LayerInitializers
from lth_keras.models.registry import register


@register("lenet300_100")
def lenet300_100(
    input_shape, num_classes, *, seed=None, initializer=DEFAULT_INITIALIZER
):
    """Flatten, fc1 300 relu, fc2 100 relu, output (logits).

    266,610 parameters for 28x28x1 inputs and 10 classes (Frankle & Carbin 2019,
    Figure 2: 266K).
    """
    inits = LayerInitializers(initializer, seed)
    inputs = keras.Input(shape=input_shape, name="input")
    x = keras.layers.Flatten(name="flatten")(inputs)
    for name, units in (("fc1", 300), ("fc2", 100)):
        x = MaskedDense(units, activation="relu", kernel_initializer=inits(name), name=name)(x)
    outputs = MaskedDense(num_classes, kernel_initializer=inits("output"), name="output")(x)
    return keras.Model(inputs, outputs, name="lenet300_100")
