"""Gates in TensorBoard: one scalar per block gate, a histogram per channel gate."""

import keras
import tensorflow as tf

from lth_keras.layers.gates import BlockGate, ChannelGate


def write_gates(writer, model, step):
    """Writes ``block_gate/<layer>`` scalars, ``channel_gate/<layer>`` histograms
    and ``channel_gate_kept/<layer>`` (fraction of nonzero channels) at ``step``."""
    with writer.as_default(step=step):
        for layer in model.layers:
            if isinstance(layer, BlockGate):
                tf.summary.scalar(f"block_gate/{layer.name}", float(layer.values()))
            elif isinstance(layer, ChannelGate):
                values = layer.values()
                tf.summary.histogram(f"channel_gate/{layer.name}", values)
                tf.summary.scalar(f"channel_gate_kept/{layer.name}", float((values != 0).mean()))
    writer.flush()


class GateSummaries(keras.callbacks.Callback):
    """Writes the model's gates to TensorBoard at the start and every evaluation."""

    def __init__(self, log_dir):
        super().__init__()
        self.log_dir = log_dir
        self._writer = None

    def on_train_begin(self, logs=None):
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(self.log_dir)
        self._write()

    def on_epoch_end(self, epoch, logs=None):
        self._write()

    def _write(self):
        write_gates(self._writer, self.model, int(self.model.optimizer.iterations.numpy()))
