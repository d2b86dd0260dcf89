"""Divergence: a training whose loss or weights stop being finite is stopped
at once, and where it happened is kept, so the run records it as an outcome."""

import math

import keras


def finite_weights(model):
    """Whether every floating-point variable of ``model`` holds only finite values."""
    return all(bool(keras.ops.all(keras.ops.isfinite(v))) for v in model.weights
               if keras.backend.is_float_dtype(v.dtype))


class Divergence(keras.callbacks.Callback):
    """Stops training at the first evaluation whose training loss or weights
    are not finite.

    It runs once per evaluation period, where the trainer already syncs with
    the host, so a training step costs what it did: no batch hook, which would
    make Keras copy the logs back after every compiled call. The period's loss
    is Keras' running mean, so one non-finite step keeps it non-finite.

    Attributes:
      iteration: the optimizer iteration of the evaluation at which divergence
        was first seen (None: it was not).
      cause: ``"loss"`` or ``"weights"``, what was seen first.
    """

    def __init__(self):
        super().__init__()
        self.iteration = None
        self.cause = None

    @property
    def diverged(self):
        return self.iteration is not None

    def on_epoch_end(self, epoch, logs=None):
        if self.diverged:
            return
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self._stop("loss")
        elif not finite_weights(self.model):
            self._stop("weights")

    def _stop(self, cause):
        self.iteration = int(self.model.optimizer.iterations.numpy())
        self.cause = cause
        self.model.stop_training = True
