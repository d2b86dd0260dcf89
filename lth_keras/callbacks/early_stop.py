"""The early-stopping iteration: Frankle & Carbin 2019's measure of speed."""

import keras


class EarlyStopIteration(keras.callbacks.Callback):
    """Tracks the iteration of minimum validation loss and the test accuracy there.

    Unlike ``keras.callbacks.EarlyStopping`` it never stops training: lottery
    ticket papers train to the end and *report* where validation loss was
    lowest. Needs ``validation_data`` in ``fit``.

    Args:
      test_data: a batched dataset evaluated whenever validation loss reaches a
        new minimum (None: only the iteration is tracked).
      evaluate: ``evaluate(dataset) -> (loss, accuracy)``; default
        ``model.evaluate``.
      measurable: ``measurable() -> bool``, called at each evaluation after
        the callbacks before this one; False ignores it (a diverged model).
    """

    def __init__(self, test_data=None, evaluate=None, measurable=None):
        super().__init__()
        self.test_data = test_data
        self.evaluate = evaluate
        self.measurable = measurable
        self.best_loss = float("inf")
        self.best_iteration = None
        self.test_accuracy = None

    def on_epoch_end(self, epoch, logs=None):
        loss = (logs or {}).get("val_loss")
        if loss is None or not loss < self.best_loss:
            return
        if self.measurable is not None and not self.measurable():
            return
        self.best_loss = float(loss)
        self.best_iteration = int(self.model.optimizer.iterations.numpy())
        if self.test_data is not None:
            if self.evaluate is not None:
                _, accuracy = self.evaluate(self.test_data)
            else:
                _, accuracy = self.model.evaluate(self.test_data, verbose=0)
            self.test_accuracy = float(accuracy)
