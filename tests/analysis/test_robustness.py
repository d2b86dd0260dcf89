"""FGSM and PGD: the closed form on a linear softmax model, and PGD's budget."""
import keras
import numpy as np
import pytest

from lth_keras.analysis.pixels import PixelSpace
from lth_keras.analysis.robustness import (
    FGSM, PGD, accuracy_under_attack, adversarial_examples, make_attack)
from lth_keras.data.normalization import Normalization


def linear_softmax(d=6, classes=3, seed=0, centered=False):
    """A linear softmax model; ``centered``: all logits equal at x = 0.5."""
    rng = np.random.default_rng(seed)
    model = keras.Sequential([keras.Input((d,)), keras.layers.Dense(classes)])
    kernel, bias = rng.normal(size=(d, classes)), rng.normal(size=classes)
    if centered:
        bias = -0.5 * kernel.sum(axis=0)
    model.layers[0].set_weights([kernel.astype(np.float32), bias.astype(np.float32)])
    return model, kernel, bias


def closed_form_fgsm(x, y, kernel, bias, epsilon):
    """d CE(softmax(x W + b), y) / dx = W (p - onehot(y))."""
    logits = x @ kernel + bias
    p = np.exp(logits - logits.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    p[np.arange(len(y)), y] -= 1.0
    return np.clip(x + epsilon * np.sign(p @ kernel.T), 0.0, 1.0)


def test_fgsm_on_a_linear_softmax_model_matches_the_closed_form():
    model, kernel, bias = linear_softmax()
    rng = np.random.default_rng(1)
    x = rng.uniform(0.0, 1.0, size=(32, 6)).astype(np.float32)
    y = rng.integers(0, 3, size=32).astype(np.int32)
    for epsilon in (0.05, 0.3):  # 0.3 also exercises the clip to [0, 1]
        got = FGSM(epsilon)(model, x, y).numpy()
        np.testing.assert_allclose(got, closed_form_fgsm(x, y, kernel, bias, epsilon), atol=1e-6)


def test_pgd_with_one_step_of_epsilon_and_no_random_start_is_fgsm():
    model, _, _ = linear_softmax(seed=2)
    rng = np.random.default_rng(3)
    x = rng.uniform(size=(40, 6)).astype(np.float32)
    y = rng.integers(0, 3, size=40).astype(np.int32)
    fgsm = adversarial_examples(model, FGSM(0.1), x, y, batch_size=16)
    pgd = adversarial_examples(model, PGD(0.1, step_size=0.1, steps=1, random_start=False), x, y,
                               batch_size=16)
    np.testing.assert_allclose(pgd, fgsm, atol=1e-6)
    assert not np.allclose(fgsm, x)


def test_pgd_stays_in_the_epsilon_ball_and_in_pixel_range_under_a_normalisation():
    normalization = Normalization(255.0, (0.5,), (0.25,))
    pixels = PixelSpace(normalization)
    model, _, _ = linear_softmax(seed=4)
    rng = np.random.default_rng(5)
    clean_pixels = rng.uniform(size=(24, 6)).astype(np.float32)
    inputs = pixels.to_inputs(clean_pixels)
    y = rng.integers(0, 3, size=24).astype(np.int32)
    attack = make_attack("pgd", pixels=pixels, epsilon=0.05, step_size=0.02, steps=5)
    adversarial = pixels.to_pixels(adversarial_examples(model, attack, inputs, y, seed=7))
    assert np.abs(adversarial - clean_pixels).max() <= 0.05 + 1e-5
    assert adversarial.min() >= -1e-6 and adversarial.max() <= 1 + 1e-6
    again = pixels.to_pixels(adversarial_examples(model, attack, inputs, y, seed=7))
    np.testing.assert_array_equal(adversarial, again)  # seeded random start


def test_accuracy_under_attack_is_clean_accuracy_at_zero_budget_and_drops_with_it():
    model, _, _ = linear_softmax(seed=6, centered=True)
    rng = np.random.default_rng(8)
    x = rng.uniform(size=(200, 6)).astype(np.float32)
    y = np.argmax(model.predict(x, verbose=0), -1).astype(np.int32)  # all correct when clean
    assert accuracy_under_attack(model, FGSM(0.0), x, y, batch_size=64) == 1.0
    attacked = accuracy_under_attack(model, FGSM(0.2), x, y, batch_size=64)
    assert attacked < 0.8
    # One compiled function per model and attack, reused for new weights.
    attack = FGSM(0.5)
    accuracy_under_attack(model, attack, x, y)
    accuracy_under_attack(model, attack, x, y)
    assert len(attack._compiled) == 1


def test_bad_arguments():
    with pytest.raises(ValueError, match="epsilon"):
        FGSM(2.0)
    with pytest.raises(ValueError, match="steps"):
        PGD(0.1, 0.01, 0)
    with pytest.raises(ValueError, match="attack"):
        make_attack("cw", epsilon=0.1)
    model, _, _ = linear_softmax()
    with pytest.raises(ValueError, match="labels"):
        accuracy_under_attack(model, FGSM(0.1), np.zeros((0, 6), np.float32), np.zeros(0, np.int32))
