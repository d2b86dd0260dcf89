"""Pieces every zoo builder shares: seeded per-layer initializers, BatchNorm."""

import zlib

import keras
import numpy as np

# Frankle & Carbin 2019 (Appendix) initialise every network with Gaussian Glorot.
DEFAULT_INITIALIZER = "glorot_normal"

# PyTorch's BatchNorm defaults (running-average factor 0.1, eps 1e-5), which the
# reference CIFAR code uses (He et al. 2016 re-implementations, open_lth); Keras's
# own 0.99 makes evaluation statistics lag far behind on short runs.
BN_MOMENTUM = 0.9
BN_EPSILON = 1e-5


class LayerInitializers:
    """Hands each named layer its own kernel initializer, seeded from one model seed.

    The per-layer seed is derived from ``(seed, layer name)``, so the same model
    seed always gives the same weights, different seeds give different weights,
    and a layer's initial value does not depend on which other layers exist (a
    network with blocks removed or gates added keeps the other layers' theta_0).
    With ``seed=None`` every layer draws fresh values (Keras's global seed).
    The model seed replaces any seed the given initializer carries.
    """

    def __init__(self, initializer=DEFAULT_INITIALIZER, seed=None):
        if seed is not None and (not isinstance(seed, (int, np.integer)) or seed < 0):
            raise ValueError(f"`seed` must be a non-negative int or None, got {seed!r}")
        self.initializer = keras.initializers.get(initializer)
        self.seed = seed

    def layer_seed(self, layer_name):
        """The int seed of ``layer_name``'s kernel, or None when unseeded."""
        if self.seed is None:
            return None
        key = [int(self.seed), zlib.crc32(layer_name.encode("utf-8"))]
        return int(np.random.SeedSequence(key).generate_state(1)[0] >> 1)

    def __call__(self, layer_name):
        init = self.initializer
        if not isinstance(init, keras.initializers.Initializer):
            return init  # a plain callable: used as given
        config = init.get_config()
        if "seed" not in config:
            return init  # deterministic (zeros, constant, ...)
        return type(init).from_config({**config, "seed": self.layer_seed(layer_name)})


def batch_norm(name):
    """A plain ``keras.layers.BatchNormalization`` with the zoo's settings."""
    return keras.layers.BatchNormalization(
        momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=name
    )
