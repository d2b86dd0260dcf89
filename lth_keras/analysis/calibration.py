"""Calibration: expected calibration error, negative log-likelihood, Brier score.

For one model or an ensemble given as a list of models, whose prediction is
the mean of the members' softmax outputs (Lakshminarayanan et al. 2017, as
FreeTickets, Liu et al. 2022, combine their tickets). Models output logits.
"""

import numpy as np

from lth_keras.analysis.predict import logits as predict_logits

DEFAULT_BINS = 15  # Guo et al. 2017


def probabilities(models, inputs, batch_size=500):
    """Softmax of one model, or the mean softmax of a list of models."""
    members = models if isinstance(models, (list, tuple)) else [models]
    if not members:
        raise ValueError("models: expected a model or a non-empty list of models.")
    total = 0.0
    for model in members:
        logits = predict_logits(model, inputs, batch_size).astype(np.float64)
        logits -= logits.max(axis=-1, keepdims=True)
        p = np.exp(logits)
        total = total + p / p.sum(axis=-1, keepdims=True)
    return total / len(members)


def _check(probs, labels):
    probs, labels = np.asarray(probs, np.float64), np.asarray(labels)
    if probs.ndim != 2 or labels.shape != (len(probs),) or len(labels) == 0:
        raise ValueError(f"probs, labels: expected shapes (n, classes) and (n,) with n > 0, "
                         f"got {probs.shape} and {labels.shape}.")
    return probs, labels.astype(np.int64)


def expected_calibration_error(probs, labels, bins=DEFAULT_BINS):
    """ECE (Naeini et al. 2015; Guo et al. 2017): sum over equal-width
    confidence bins (lo, hi] of |bin| / n * |accuracy(bin) - confidence(bin)|,
    with confidence the top-class probability."""
    probs, labels = _check(probs, labels)
    if not (isinstance(bins, (int, np.integer)) and bins >= 1):
        raise ValueError(f"bins: expected an integer >= 1, got {bins!r}.")
    confidence = probs.max(axis=-1)
    correct = probs.argmax(axis=-1) == labels
    # Bin b holds confidences in (b / bins, (b + 1) / bins].
    index = np.clip(np.ceil(confidence * bins).astype(int) - 1, 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        members = index == b
        if members.any():
            ece += members.mean() * abs(correct[members].mean() - confidence[members].mean())
    return float(ece)


def negative_log_likelihood(probs, labels, floor=1e-12):
    """Mean -log p(true class); probabilities below ``floor`` count as ``floor``."""
    probs, labels = _check(probs, labels)
    return float(-np.mean(np.log(np.maximum(probs[np.arange(len(labels)), labels], floor))))


def brier_score(probs, labels):
    """Mean over examples of sum over classes of (p_c - 1[c = y])^2 (Brier 1950,
    the multi-class form of Ovadia et al. 2019); 0 is perfect, 2 the worst."""
    probs, labels = _check(probs, labels)
    onehot = np.zeros_like(probs)
    onehot[np.arange(len(labels)), labels] = 1.0
    return float(np.mean(np.sum((probs - onehot) ** 2, axis=-1)))


def calibration(probs, labels, bins=DEFAULT_BINS):
    """``{"accuracy", "ece", "nll", "brier"}`` of predicted probabilities."""
    probs, labels = _check(probs, labels)
    return {
        "accuracy": float(np.mean(probs.argmax(axis=-1) == labels)),
        "ece": expected_calibration_error(probs, labels, bins),
        "nll": negative_log_likelihood(probs, labels),
        "brier": brier_score(probs, labels),
    }


def evaluate_calibration(models, inputs, labels, bins=DEFAULT_BINS, batch_size=500):
    """:func:`calibration` of one model or of an ensemble (a list of models)."""
    return calibration(probabilities(models, inputs, batch_size), labels, bins)
