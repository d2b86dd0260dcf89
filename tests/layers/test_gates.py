"""Channel and block gates: what they multiply, trainability, L1, .keras round trip."""

import keras
import numpy as np
import pytest

from helpers import batch
from lth_keras.layers import BlockGate, ChannelGate


def test_channel_gate_scales_each_channel():
    gate = ChannelGate(name="g")
    x = batch((3, 3, 4))
    gate.build(x.shape)
    gate.assign([1.0, 0.0, 0.5, 2.0])
    y = keras.ops.convert_to_numpy(gate(x))
    np.testing.assert_allclose(y, x * np.array([1.0, 0.0, 0.5, 2.0]), rtol=1e-6)


def test_fixed_gates_are_not_trainable_and_never_penalised():
    inputs = keras.Input((4,))
    y = ChannelGate(trainable=False, l1=1.0, name="fixed")(inputs)
    y = BlockGate(trainable=False, l1=1.0, name="block")(y)
    model = keras.Model(inputs, y)
    model(np.ones((2, 4), np.float32))
    assert model.trainable_weights == []
    assert len(model.non_trainable_weights) == 2
    assert model.losses == []


def test_trainable_gate_adds_l1_penalty_and_learns():
    inputs = keras.Input((3,))
    model = keras.Model(inputs, ChannelGate(l1=0.5, name="g")(inputs))
    model(np.ones((1, 3), np.float32))
    assert float(sum(model.losses)) == pytest.approx(0.5 * 3)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    x = np.ones((8, 3), np.float32)
    model.fit(x, x, epochs=1, verbose=0)
    # The data term is 0 at g = 1; only the penalty moves the gate, towards 0.
    values = model.get_layer("g").values()
    assert np.all(values < 1.0)


def test_block_gate_is_scalar():
    gate = BlockGate(initial_value=0.25)
    y = keras.ops.convert_to_numpy(gate(np.full((2, 3), 4.0, np.float32)))
    assert gate.gate.shape == ()
    np.testing.assert_allclose(y, np.ones((2, 3)))


def test_assign_checks_shape():
    gate = ChannelGate()
    gate.build((None, 5))
    with pytest.raises(ValueError, match="shape"):
        gate.assign(np.ones(4))


def test_negative_l1_is_rejected():
    with pytest.raises(ValueError, match="l1"):
        BlockGate(l1=-1.0)


def test_gates_round_trip_through_keras_file(tmp_path):
    inputs = keras.Input((4, 4, 3))
    x = ChannelGate(l1=0.1, name="channels")(inputs)
    x = BlockGate(trainable=False, name="block")(x)
    model = keras.Model(inputs, x)
    model.get_layer("channels").assign([0.0, 1.0, 0.5])
    model.get_layer("block").assign(0.0)
    path = tmp_path / "gates.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(loaded.get_layer("channels").values(), [0.0, 1.0, 0.5])
    assert float(loaded.get_layer("block").values()) == 0.0
    assert not loaded.get_layer("block").trainable
    assert loaded.get_layer("channels").l1 == pytest.approx(0.1)
    x = batch((4, 4, 3))
    np.testing.assert_array_equal(loaded(x), model(x))
