"""SynFlow: iterative synaptic flow pruning, data-free (Tanaka et al. 2020)."""

import numpy as np

from lth_keras.pruning.criteria import Criterion, register
from lth_keras.pruning.saliency.iterative import prune_iteratively
from lth_keras.pruning.saliency.stateless import StatelessModel

ITERATIONS = 100  # Tanaka et al. 2020 prune in 100 rounds


@register("synflow")
class SynFlow(Criterion):
    """One round of synaptic-flow scores |dR/dtheta * theta| (Tanaka et al. 2020).

    Every variable, BatchNorm's statistics included, is replaced by its
    absolute value for this pass only (the model is never written to, so
    signs and BatchNorm are exactly as before); the input is one all-ones
    example and R is the sum of the outputs, with BatchNorm in inference mode.

    Args:
      input_shape: one example's shape (default: the model's input shape).
    """

    def __init__(self, input_shape=None):
        self.input_shape = input_shape

    def scores(self, model, targets):
        shape = self.input_shape or _input_shape(model)
        gradients, kernels, flow = StatelessModel(model, targets).output_sum_gradient(
            np.ones((1, *shape), np.float32))
        if not np.isfinite(flow):
            raise ValueError(
                f"model: the synaptic flow of '{model.name}' overflows float32 ({flow}); "
                "SynFlow cannot rank its weights.")
        return {t.path: np.abs(g * k) for t, g, k in zip(targets, gradients, kernels)}


def prune_synflow(model, density, iterations=ITERATIONS, input_shape=None, exclude=()):
    """Prunes ``model`` to ``density`` by SynFlow's exponential schedule.

    Round k of ``iterations`` prunes globally to density ``density**(k/iterations)``
    with scores recomputed on the surviving network (Tanaka et al. 2020, Algorithm 1).
    Returns the final mask set.
    """
    return prune_iteratively(model, density, SynFlow(input_shape), iterations, exclude=exclude)


def _input_shape(model):
    inputs = getattr(model, "inputs", None)
    if not inputs:
        raise ValueError(
            f"input_shape: model '{model.name}' has no known input; pass SynFlow(input_shape=...).")
    shape = tuple(inputs[0].shape[1:])
    if any(d is None for d in shape):
        raise ValueError(f"input_shape: model '{model.name}' has an unknown input size {shape}; "
                         "pass SynFlow(input_shape=...).")
    return shape
