from lth_keras.models import build


def test_lenet300_100_count_and_names():
    # Frankle & Carbin 2019, Figure 2: 266K weights.
    model = build("lenet300_100", (28, 28, 1), 10)
    assert sum(w.numpy().size for w in model.trainable_weights) == 266_610
    assert [layer.name for layer in model.layers] == [
        "input", "flatten", "fc1", "fc2", "output",
    ]
