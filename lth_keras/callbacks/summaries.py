"""Sparsity in TensorBoard: per-layer and global density, kept-weight histograms."""

import keras
import tensorflow as tf

from lth_keras.pruning.targets import prunable_weights


def write_sparsity(writer, model, step):
    """Writes ``density/global``, ``density/<layer>`` scalars and histograms of
    the kept weights of each layer at ``step``."""
    kept = total = 0
    with writer.as_default(step=step):
        for t in prunable_weights(model):
            mask = t.mask.numpy()
            kept += mask.sum()
            total += mask.size
            tf.summary.scalar(f"density/{t.path}", float(mask.mean()))
            values = t.kernel.numpy()[mask > 0]
            if values.size:
                tf.summary.histogram(f"kept_weights/{t.path}", values)
        tf.summary.scalar("density/global", float(kept / max(total, 1)))
    writer.flush()


class EvaluationSummaries(keras.callbacks.Callback):
    """Calls ``write(writer, model, step)`` when training starts and at every
    evaluation (epoch end); the step is the optimizer iteration, so curves of
    several rounds line up."""

    def __init__(self, log_dir, write):
        super().__init__()
        self.log_dir = log_dir
        self.write = write
        self._writer = None

    def on_train_begin(self, logs=None):
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(self.log_dir)
        self._write()

    def on_epoch_end(self, epoch, logs=None):
        self._write()

    def _write(self):
        self.write(self._writer, self.model, int(self.model.optimizer.iterations.numpy()))


class SparsitySummaries(EvaluationSummaries):
    """Writes the model's sparsity to TensorBoard at every evaluation.

    Use it beside ``keras.callbacks.TensorBoard`` in your own ``fit``.
    """

    def __init__(self, log_dir):
        super().__init__(log_dir, write_sparsity)
