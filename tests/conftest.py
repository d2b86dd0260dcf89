"""Test setup: quiet TensorFlow, and two logical CPUs for tf.distribute tests."""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(__file__))

import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

# MirroredStrategy tests need two devices; split the CPU before TF starts.
_cpus = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(
    _cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2
)


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    import keras

    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    yield
