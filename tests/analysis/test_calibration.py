"""ECE, NLL and Brier on a hand-worked example; ensembles average softmax."""
import math

import keras
import numpy as np
import pytest

from lth_keras.analysis.calibration import (
    brier_score, calibration, evaluate_calibration, expected_calibration_error,
    negative_log_likelihood, probabilities)

# Confidences 0.9 (right), 0.62 (wrong: predicts 0, label 1), 0.7 (right), 0.8 (right).
PROBS = np.array([[0.9, 0.1], [0.62, 0.38], [0.3, 0.7], [0.2, 0.8]])
LABELS = np.array([0, 1, 1, 1])


def test_ece_by_hand():
    # 15 bins: each confidence in its own bin -> mean of |accuracy - confidence|.
    assert expected_calibration_error(PROBS, LABELS) == pytest.approx(
        (0.1 + 0.62 + 0.3 + 0.2) / 4)
    # 2 bins: all four in (0.5, 1]: |3/4 - (0.9 + 0.62 + 0.7 + 0.8) / 4| = 0.005.
    assert expected_calibration_error(PROBS, LABELS, bins=2) == pytest.approx(0.005)


def test_nll_and_brier_by_hand():
    assert negative_log_likelihood(PROBS, LABELS) == pytest.approx(
        -(math.log(0.9) + math.log(0.38) + math.log(0.7) + math.log(0.8)) / 4)
    # (0.01 + 0.01) + (0.62^2 + 0.62^2) + (0.09 + 0.09) + (0.04 + 0.04), over 4.
    assert brier_score(PROBS, LABELS) == pytest.approx((0.02 + 0.7688 + 0.18 + 0.08) / 4)
    summary = calibration(PROBS, LABELS)
    assert summary["accuracy"] == 0.75 and summary["brier"] == pytest.approx(0.2622)


def test_perfect_predictions_are_perfectly_calibrated():
    onehot = np.eye(3)[[0, 2, 1]]
    assert expected_calibration_error(onehot, [0, 2, 1]) == 0.0
    assert brier_score(onehot, [0, 2, 1]) == 0.0
    assert negative_log_likelihood(onehot, [0, 2, 1]) == pytest.approx(0.0)


def constant_model(logits):
    """A model whose logits are ``logits`` for every input."""
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(len(logits))])
    model.layers[0].set_weights([np.zeros((2, len(logits)), np.float32),
                                 np.asarray(logits, np.float32)])
    return model


def test_an_ensemble_averages_the_softmax_of_its_members():
    a, b = constant_model([2.0, 0.0]), constant_model([0.0, 1.0])
    x = np.zeros((3, 2), np.float32)
    pa = np.exp([2.0, 0.0]) / np.exp([2.0, 0.0]).sum()
    pb = np.exp([0.0, 1.0]) / np.exp([0.0, 1.0]).sum()
    np.testing.assert_allclose(probabilities([a, b], x), np.tile((pa + pb) / 2, (3, 1)), atol=1e-6)
    np.testing.assert_allclose(probabilities(a, x), np.tile(pa, (3, 1)), atol=1e-6)
    single = evaluate_calibration(a, x, [0, 0, 0])
    assert single["nll"] == pytest.approx(-math.log(pa[0]), rel=1e-5)


def test_bad_arguments():
    with pytest.raises(ValueError, match="bins"):
        expected_calibration_error(PROBS, LABELS, bins=0)
    with pytest.raises(ValueError, match="probs, labels"):
        brier_score(PROBS, LABELS[:2])
    with pytest.raises(ValueError, match="models"):
        probabilities([], np.zeros((1, 2)))
