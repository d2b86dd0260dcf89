"""Divergence: a training whose loss or weights stop being finite is stopped
at once, and where it happened is kept, so the run records it as an outcome."""

import math

import keras


def finite_weights(model):
    """Whether every floating-point variable of ``model`` holds only finite values."""
    return all(bool(keras.ops.all(keras.ops.isfinite(v))) for v in model.weights
               if keras.backend.is_float_dtype(v.dtype))


class Divergence(keras.callbacks.Callback):
    """Stops training at the first non-finite training loss or weight.

    Like ``keras.callbacks.TerminateOnNaN``, it reads the loss ``fit`` already
    reports after every compiled call (``steps_per_execution`` steps; Keras'
    loss there is the mean since the evaluation period began, so one
    non-finite step keeps it non-finite), which costs nothing more; weights
    are checked once per evaluation period, at its end.

    Attributes:
      iteration: the optimizer iteration at which divergence was first seen
        (None: it was not): the end of the first compiled call whose loss was
        not finite, or the first evaluation at which a weight was not.
      cause: ``"loss"`` or ``"weights"``, what was seen first.
    """

    def __init__(self):
        super().__init__()
        self.iteration = None
        self.cause = None

    @property
    def diverged(self):
        return self.iteration is not None

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if not self.diverged and loss is not None and not math.isfinite(float(loss)):
            self._stop("loss")

    def on_epoch_end(self, epoch, logs=None):
        if not self.diverged and not finite_weights(self.model):
            self._stop("weights")

    def _stop(self, cause):
        self.iteration = int(self.model.optimizer.iterations.numpy())
        self.cause = cause
        self.model.stop_training = True
