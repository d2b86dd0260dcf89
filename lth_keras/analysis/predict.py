"""Predictions of a model on arrays, in inference mode (BN uses its moving statistics)."""

import numpy as np


def logits(model, inputs, batch_size=500):
    return np.asarray(model.predict(inputs, batch_size=batch_size, verbose=0))


def accuracy(model, inputs, labels, batch_size=500):
    """Fraction of ``labels`` that are the model's top class."""
    if len(labels) == 0:
        raise ValueError("labels: expected at least one example.")
    return float(np.mean(logits(model, inputs, batch_size).argmax(axis=-1) == np.asarray(labels)))
