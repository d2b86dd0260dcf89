"""Pruning during ``fit``, following a schedule."""

import keras

from lth_keras.pruning.masks import density
from lth_keras.pruning.pruner import prune


class IterativePruning(keras.callbacks.Callback):
    """Prunes the model whenever its schedule asks for a lower density.

    Masks are written between training steps, on the host, in cross-replica
    context, so every replica of a ``tf.distribute`` strategy sees the same mask.

    Args:
      schedule: a :class:`lth_keras.pruning.schedules.PruningSchedule`.
      scope, criterion, exclude: as for :func:`lth_keras.prune`.
    """

    def __init__(self, schedule, scope="global", criterion="magnitude", exclude=()):
        super().__init__()
        self.schedule = schedule
        self.scope = scope
        self.criterion = criterion
        self.exclude = tuple(exclude)
        self.current = 1.0
        self.events = []  # (iteration, density) of every pruning event

    def _maybe_prune(self):
        step = int(self.model.optimizer.iterations.numpy())
        target = self.schedule.density(step)
        if target < self.current - 1e-12:
            prune(self.model, density=target, scope=self.scope,
                  criterion=self.criterion, exclude=self.exclude)
            self.current = target
            self.events.append((step, target))

    def on_train_begin(self, logs=None):
        self.current = density(self.model)
        self._maybe_prune()

    def on_train_batch_end(self, batch, logs=None):
        self._maybe_prune()
