import keras
import pytest

from lth_keras.models import MODELS, build, register


def test_unknown_name_lists_accepted_names():
    with pytest.raises(ValueError, match="`name`") as error:
        build("resnet21", (32, 32, 3), 10)
    assert "resnet20" in str(error.value) and "lenet300_100" in str(error.value)


def test_register_user_builder():
    @register("tiny_test_model")
    def tiny(input_shape, num_classes, *, seed=None, units=4):
        inputs = keras.Input(shape=input_shape)
        x = keras.layers.Flatten()(inputs)
        x = keras.layers.Dense(units)(x)
        return keras.Model(inputs, keras.layers.Dense(num_classes, name="output")(x))

    try:
        assert "tiny_test_model" in MODELS
        model = build("tiny_test_model", [8, 8, 1], 3, seed=1, units=5)
        assert model.output.shape == (None, 3)
        assert model.layers[2].units == 5
        with pytest.raises(ValueError, match="already registered"):
            register("tiny_test_model")(tiny)
    finally:
        MODELS.pop("tiny_test_model", None)


def test_unknown_option_is_an_error():
    with pytest.raises(TypeError):
        build("lenet300_100", (28, 28, 1), 10, shortcut="zero_pad")
