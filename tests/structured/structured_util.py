"""Shared pieces of the structured tests: small inputs, non-trivial BatchNorms."""

import keras
import numpy as np

SHAPE = (16, 16, 1)


def randomize_batch_norms(model, seed=0):
    """Random gamma, beta and moving statistics, so that removing the wrong BN
    entry (or keeping a dead one) changes the outputs."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            n = layer.gamma.shape[0]
            layer.gamma.assign(rng.normal(1.0, 0.5, n).astype(np.float32))
            layer.beta.assign(rng.normal(0.0, 0.5, n).astype(np.float32))
            layer.moving_mean.assign(rng.normal(0.0, 0.5, n).astype(np.float32))
            layer.moving_variance.assign(rng.uniform(0.5, 2.0, n).astype(np.float32))
    return model


def random_channel_masks(gates, seed=0, keep=0.6):
    """Assigns each gate a random 0/1 mask keeping at least one channel."""
    rng = np.random.default_rng(seed)
    for gate in gates.values():
        mask = (rng.random(gate.gate.shape) < keep).astype(np.float32)
        mask[rng.integers(len(mask))] = 1.0
        gate.assign(mask)


def images(n=4, seed=0):
    return np.random.default_rng(seed).random((n, *SHAPE), dtype=np.float32)
