import keras
import pytest

import lth_keras
from lth_keras import metrics
from helpers import lenet, small_cnn


def test_lenet_300_100_by_hand():
    model = lth_keras.wrap(lenet())
    counts = metrics.parameter_counts(model)
    assert counts["total"] == 784 * 300 + 300 + 300 * 100 + 100 + 100 * 10 + 10 == 266_610
    assert counts["prunable"] == 266_200
    assert metrics.multiply_adds(model) == (266_200, 266_200)
    lth_keras.prune(model, density=0.2, scope="layerwise")
    dense, effective = metrics.multiply_adds(model)
    assert dense == 266_200 and effective == 47_040 + 6_000 + 200  # 20% of 235,200, 30,000, 1,000
    assert metrics.theoretical_speedup(model) == pytest.approx(266_200 / effective)
    nonzero = metrics.parameter_counts(model)["nonzero"]
    assert nonzero == effective  # biases start at zero
    assert metrics.compression_ratio(model) == pytest.approx(266_610 / nonzero)


def test_small_cnn_multiply_adds_by_hand():
    model = lth_keras.wrap(small_cnn())
    by_hand = (
        3 * 3 * 3 * 8 * 12 * 12  # conv1: 3x3, 3->8, same padding, 12x12 out
        + 3 * 3 * 8 * 5 * 5  # depthwise 3x3 stride 2 -> 5x5
        + 3 * 3 * 8 * 5 * 5 + 8 * 16 * 5 * 5  # separable: depthwise + pointwise
        + 16 * 4 * 25  # conv1d kernel 1, 16->4 over 25 steps
        + 100 * 32 + 32 * 16 + 16 * 10  # dense layers
    )
    assert metrics.multiply_adds(model)[0] == by_hand
    report = metrics.report(model)
    assert report["theoretical_speedup"] == 1.0
    # BN moving statistics and masks are not parameters; gamma and beta are.
    stripped = lth_keras.strip(model)
    assert metrics.parameter_counts(stripped)["total"] == report["total_params"]
    assert report["total_params"] == sum(
        int(w.numpy().size) for w in stripped.trainable_weights
    )


def test_metrics_on_a_plain_keras_model():
    model = keras.Sequential([keras.Input((4, 4, 2)), keras.layers.Conv2D(3, 2), keras.layers.Flatten(),
                              keras.layers.Dense(5)])
    assert metrics.multiply_adds(model) == (2 * 2 * 2 * 3 * 9 + 27 * 5,) * 2
