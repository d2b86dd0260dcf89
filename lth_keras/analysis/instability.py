"""Instability to SGD noise: linear mode connectivity (Frankle et al. 2020).

From the weights W_k at iteration k, train two copies to the end under
different SGD noise (data order and augmentation: the ``data_seed`` of
:meth:`lth_keras.training.Trainer.fit`) with the same mask; evaluate the error
at ``points`` = 30 evenly spaced alpha on (1 - alpha) W_1 + alpha W_2. The
*instability* is the error barrier: the highest error on the path minus the
mean of the two endpoint errors. A network is *stable* when it is below 2%.

What is interpolated: the trainable weights and the BatchNorm moving
statistics; never the masks, which are the same along the path. Moving
statistics interpolated with the weights do not describe the interpolated
network's activations; ``recompute_bn_statistics=True`` re-estimates them at
each alpha from training batches (as SWA does, Izmailov et al. 2018). The
default, False, interpolates them, which is the paper's description; the two
differ only for models with BatchNorm.
"""

import time

import keras
import numpy as np

from lth_keras.analysis.predict import accuracy

POINTS = 30
STABLE_BELOW = 0.02  # Frankle et al. 2020


def _is_bn_statistic(layer, var):
    return (isinstance(layer, keras.layers.BatchNormalization)
            and var.name in ("moving_mean", "moving_variance"))


def interpolated_variables(model):
    """The variables the path moves: trainable weights and BN moving statistics."""
    bn = [v for layer in model._flatten_layers(include_self=False, recursive=True)
          for v in layer.non_trainable_weights if _is_bn_statistic(layer, v)]
    return list(model.trainable_weights) + bn


def snapshot(model):
    """The current values of :func:`interpolated_variables`."""
    return [v.numpy().copy() for v in interpolated_variables(model)]


def interpolate(model, weights_a, weights_b, alpha):
    """Sets ``(1 - alpha) * weights_a + alpha * weights_b`` into the model."""
    variables = interpolated_variables(model)
    if not len(variables) == len(weights_a) == len(weights_b):
        raise ValueError(f"weights_a, weights_b: expected {len(variables)} arrays each "
                         f"(from snapshot(model)), got {len(weights_a)} and {len(weights_b)}.")
    for var, a, b in zip(variables, weights_a, weights_b):
        var.assign((1.0 - alpha) * a + alpha * b)


def batch_norm_layers(model):
    return [l for l in model._flatten_layers(include_self=False, recursive=True)
            if isinstance(l, keras.layers.BatchNormalization)]


def recompute_batch_norm_statistics(model, batches):
    """Sets every BN layer's moving statistics to the average of its batch
    statistics over ``batches`` (an iterable of input arrays or (x, y) pairs).

    Momentum (t - 1) / t at the t-th batch makes the moving average a plain
    cumulative mean; the layers' momenta are restored afterwards.
    """
    layers = batch_norm_layers(model)
    if not layers:
        return
    momenta = [l.momentum for l in layers]
    try:
        for t, batch in enumerate(batches, start=1):
            x = batch[0] if isinstance(batch, (tuple, list)) else batch
            for layer in layers:
                layer.momentum = (t - 1) / t
            model(x, training=True)
    finally:
        for layer, momentum in zip(layers, momenta):
            layer.momentum = momentum


def error_barrier(errors):
    """Highest error on the path minus the mean of its two endpoint errors."""
    errors = np.asarray(errors, np.float64)
    if errors.ndim != 1 or len(errors) < 2:
        raise ValueError(f"errors: expected a path of at least 2 errors, got shape {errors.shape}.")
    return float(errors.max() - (errors[0] + errors[-1]) / 2)


def linear_path(model, weights_a, weights_b, inputs, labels, points=POINTS, bn_batches=None,
                batch_size=500):
    """``(alphas, errors)`` along (1 - alpha) a + alpha b, in inference mode.

    Args:
      weights_a, weights_b: :func:`snapshot` of the two trained networks.
      inputs, labels: the evaluation split as arrays.
      points: evenly spaced alphas in [0, 1], both ends included.
      bn_batches: a callable returning training batches for
        :func:`recompute_batch_norm_statistics` at each alpha (None: keep
        the interpolated moving statistics).

    The model is left holding ``weights_a``.
    """
    if not (isinstance(points, (int, np.integer)) and points >= 2):
        raise ValueError(f"points: expected an integer >= 2, got {points!r}.")
    alphas = np.linspace(0.0, 1.0, points)
    errors = []
    for alpha in alphas:
        interpolate(model, weights_a, weights_b, alpha)
        if bn_batches is not None:
            recompute_batch_norm_statistics(model, bn_batches())
        errors.append(1.0 - accuracy(model, inputs, labels, batch_size))
    interpolate(model, weights_a, weights_b, 0.0)
    return alphas, errors


def linear_mode_connectivity(trainer, start_weights, rewind_iteration, data_seeds, inputs, labels,
                             points=POINTS, bn_batches=None, seed=0):
    """Trains two copies from ``start_weights`` at ``rewind_iteration`` and
    measures the error barrier between them.

    Args:
      trainer: the :class:`lth_keras.training.Trainer` of the model.
      start_weights: every model weight (``[v.numpy() for v in model.weights]``,
        masks included) at iteration ``rewind_iteration``: W_k under the mask.
      data_seeds: two different data-order seeds, one per copy.
      inputs, labels, points, bn_batches: as :func:`linear_path`.
      seed: the global seed set before each copy (dropout and the like).

    Returns:
      A record: ``status``, ``alphas``, ``errors``, ``barrier``, ``stable``,
      each copy's ``test_accuracy``, and the training wall time. When a copy
      diverged (``status: "diverged"``, ``diverged_at_iteration`` the earliest
      iteration at which one did) the path between them means nothing: it is not
      measured, and its fields are None.
    """
    if len(data_seeds) != 2 or data_seeds[0] == data_seeds[1]:
        raise ValueError(f"data_seeds: expected two different seeds, got {list(data_seeds)}.")
    model = trainer.model
    began = time.perf_counter()
    ends, fits = [], []
    for i, data_seed in enumerate(data_seeds):
        for var, value in zip(model.weights, start_weights):
            var.assign(value)
        keras.utils.set_random_seed(int(seed) * 2 + i)
        fits.append(trainer.fit(start=rewind_iteration, data_seed=int(data_seed)))
        ends.append(snapshot(model))
    identity = {"rewind_iteration": int(rewind_iteration),
                "data_seeds": [int(s) for s in data_seeds]}
    diverged = [f["diverged_at_iteration"] for f in fits if f.get("status", "ok") != "ok"]
    if diverged:
        return {**identity, "status": "diverged", "diverged_at_iteration": min(diverged),
                "barrier": None, "stable": None, "endpoint_errors": None, "max_error": None,
                "test_accuracy_copies": [f["test_accuracy"] for f in fits],
                "alphas": None, "errors": None, "recompute_bn_statistics": bn_batches is not None,
                "wall_time_s": time.perf_counter() - began}
    alphas, errors = linear_path(model, ends[0], ends[1], inputs, labels, points, bn_batches)
    barrier = error_barrier(errors)
    return {
        **identity,
        "status": "ok",
        "diverged_at_iteration": None,
        "barrier": barrier,
        "stable": barrier < STABLE_BELOW,
        "endpoint_errors": [errors[0], errors[-1]],
        "max_error": float(max(errors)),
        "test_accuracy_copies": [f["test_accuracy"] for f in fits],
        "alphas": [float(a) for a in alphas],
        "errors": [float(e) for e in errors],
        "recompute_bn_statistics": bn_batches is not None,
        "wall_time_s": time.perf_counter() - began,
    }
