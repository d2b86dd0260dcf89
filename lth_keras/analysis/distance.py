"""Learning distance ||theta_T - theta_0||_2, per layer and over the network.

He et al. 2022 ("Sparse Double Descent") track how far training moves the
parameters. Parameters are the trainable weights (kernels, biases, BN scale
and shift); masks and BN moving statistics are state, not parameters, as in
:mod:`lth_keras.metrics`. A pruned kernel entry is 0 at both ends, so it adds
nothing.
"""

import numpy as np


def parameters(source, model=None):
    """``{"<layer>/<weight>": array}`` of trainable weights.

    Args:
      source: a Keras model, such a dict already, or the path of a
        ``.weights.h5`` file saved from ``model``.
      model: the architecture a weights file is read into (required for a
        path; its own weights are left unchanged).
    """
    if isinstance(source, dict):
        return {k: np.asarray(v) for k, v in source.items()}
    if isinstance(source, str):
        if model is None:
            raise ValueError(f"model: needed to read the weights file {source!r}.")
        saved = [v.numpy() for v in model.weights]
        try:
            model.load_weights(source)
            return parameters(model)
        finally:
            for var, value in zip(model.weights, saved):
                var.assign(value)
    return {v.path: v.numpy().copy() for v in source.trainable_weights}


def learning_distance(theta_0, theta_t, model=None):
    """``{"global": float, "layers": {layer: float}}``: L2 distances of two weight sets.

    ``theta_0`` and ``theta_t`` are each a model, a dict or a weights file
    (see :func:`parameters`); they must hold the same weights.
    """
    a, b = parameters(theta_0, model), parameters(theta_t, model)
    if set(a) != set(b):
        raise ValueError(f"theta_t: weights {sorted(set(a) ^ set(b))} are in only one of the sets.")
    squares = {}
    for path in a:
        if a[path].shape != b[path].shape:
            raise ValueError(f"theta_t['{path}']: shape {b[path].shape}, expected {a[path].shape}.")
        layer = path.rsplit("/", 1)[0]
        diff = np.asarray(b[path], np.float64) - np.asarray(a[path], np.float64)
        squares[layer] = squares.get(layer, 0.0) + float(np.sum(diff ** 2))
    return {
        "global": float(np.sqrt(sum(squares.values()))),
        "layers": {layer: float(np.sqrt(s)) for layer, s in squares.items()},
    }
