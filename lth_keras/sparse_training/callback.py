"""Dynamic sparse training as a Keras callback for any ``model.fit``.

    method = lth_keras.sparse_training.METHODS["rigl"]()
    schedule = UpdateSchedule(end=int(0.75 * total_steps), delta_t=100)
    model.fit(..., callbacks=[DynamicSparsityCallback(method, schedule, batches, loss)])

With ``steps_per_execution > 1`` the callback runs after each compiled call:
an update step inside a call is applied at the end of that call (the nearest
execution boundary), and several update steps inside one call are one
update. ``history`` keeps, per update, its step and each layer's dropped and
grown counts and the Jaccard index of the new mask with the old one.
"""

import keras

from lth_keras.sparse_training.gradients import dense_gradients


class DynamicSparsityCallback(keras.callbacks.Callback):
    """Runs ``method``'s drop-and-grow at ``schedule``'s update steps.

    Args:
      method: a :class:`~lth_keras.sparse_training.DynamicSparsity`.
      schedule: an :class:`~lth_keras.sparse_training.UpdateSchedule`.
      batches: an iterator of ``(inputs, labels)`` training batches, used for
        the dense gradient (RigL, DST-EE) at update steps only.
      loss: the training loss ``loss(labels, logits)`` for that gradient.
    """

    def __init__(self, method, schedule, batches=None, loss=None):
        super().__init__()
        if method.needs_gradients and (batches is None or loss is None):
            raise ValueError(f"batches, loss: {type(method).__name__} grows by the dense "
                             "gradient, so it needs training batches and the loss.")
        self.method, self.schedule = method, schedule
        self.batches, self.loss = batches, loss
        self.history = []

    def _now(self):
        return int(self.model.optimizer.iterations.numpy())

    def on_train_begin(self, logs=None):
        self.method.track(self.model)
        self._last = self._now()

    def on_train_batch_end(self, batch, logs=None):
        now = self._now()
        steps = self.schedule.updates_between(self._last, now)
        self._last = now
        if not steps or not self.method.updates:
            return
        step = steps[-1]
        gradients = None
        if self.method.needs_gradients:
            x, y = next(self.batches)
            gradients = dense_gradients(self.model, x, y, self.loss)
        report = self.method.update(self.model, step, self.schedule.drop_fraction(step),
                                    gradients)
        self.history.append({"step": step, "layers": report})
