"""Capturing the rewind point theta_k (Frankle et al. 2020)."""

import contextlib

import keras

from lth_keras.pruning.masks import get_masks, set_masks


class RewindPoint(keras.callbacks.Callback):
    """Captures the weights (and optionally the optimizer state) at iteration k.

    ``iteration=0`` captures the initialisation theta_0 (the original lottery
    ticket of Frankle & Carbin 2019); k > 0 is rewinding (Frankle et al. 2020).
    The capture is exact when k is a multiple of ``steps_per_execution``
    (the lth_keras trainer makes it so); otherwise it happens at the first
    multiple after k, and ``captured_iteration`` says where.
    """

    def __init__(self, iteration=0, include_optimizer=False):
        super().__init__()
        self.iteration = int(iteration)
        self.include_optimizer = include_optimizer
        self.weights = None
        self.optimizer_state = None
        self.captured_iteration = None

    def _now(self):
        return int(self.model.optimizer.iterations.numpy())

    def _capture(self):
        if self.weights is not None:
            return
        self.weights = [w.numpy().copy() for w in self.model.weights]
        if self.include_optimizer:
            self.optimizer_state = [v.numpy().copy() for v in self.model.optimizer.variables]
        self.captured_iteration = self._now()

    def on_train_begin(self, logs=None):
        if self._now() >= self.iteration:
            self._capture()

    def on_train_batch_end(self, batch, logs=None):
        if self._now() >= self.iteration:
            self._capture()

    def rewind(self, model=None):
        """Sets the captured weights back into ``model``, keeping its masks."""
        model = model or self.model
        masks = get_masks(model)
        for var, value in zip(model.weights, self.weights):
            var.assign(value)
        set_masks(model, masks)

    @contextlib.contextmanager
    def rewound(self, model=None):
        """Holds the captured weights in ``model`` for the ``with`` block (to
        save them), then puts the weights it had back."""
        model = model or self.model
        current = [w.numpy() for w in model.weights]
        self.rewind(model)
        try:
            yield model
        finally:
            for var, value in zip(model.weights, current):
                var.assign(value)
