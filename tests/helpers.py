"""Small models shared by the tests."""

import keras
import numpy as np


def lenet(input_shape=(28, 28, 1), classes=10):
    """LeNet-300-100 as a plain Keras Sequential model."""
    return keras.Sequential(
        [
            keras.Input(input_shape),
            keras.layers.Flatten(),
            keras.layers.Dense(300, activation="relu", name="fc1"),
            keras.layers.Dense(100, activation="relu", name="fc2"),
            keras.layers.Dense(classes, name="output"),
        ],
        name="lenet",
    )


def small_cnn():
    """A Functional CNN touching every maskable layer type, BN and a nested model."""
    head = keras.Sequential(
        [keras.Input((32,)), keras.layers.Dense(16, activation="relu", name="head_fc")],
        name="head",
    )
    inputs = keras.Input((12, 12, 3))
    x = keras.layers.Conv2D(8, 3, padding="same", name="conv1")(inputs)
    x = keras.layers.BatchNormalization(name="bn1")(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.DepthwiseConv2D(3, strides=2, name="dw")(x)
    x = keras.layers.SeparableConv2D(16, 3, padding="same", name="sep")(x)
    x = keras.layers.Conv1D(4, 1, name="c1d")(keras.layers.Reshape((25, 16))(x))
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(32, activation="relu", name="fc")(x)
    x = head(x)
    outputs = keras.layers.Dense(10, name="output")(x)
    return keras.Model(inputs, outputs, name="small_cnn")


def batch(shape, n=4, seed=0):
    return np.random.default_rng(seed).random((n,) + tuple(shape), dtype=np.float32)
