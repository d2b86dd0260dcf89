"""Gates in TensorBoard: one scalar per block gate, a histogram per channel gate."""

import tensorflow as tf

from lth_keras.callbacks.summaries import EvaluationSummaries
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


class GateSummaries(EvaluationSummaries):
    """Writes the model's gates to TensorBoard at the start and every evaluation."""

    def __init__(self, log_dir):
        super().__init__(log_dir, write_gates)
