"""SNIP: connection sensitivity at initialization (Lee et al. 2019)."""

import numpy as np

from lth_keras.pruning.criteria import Criterion, register
from lth_keras.pruning.saliency.stateless import StatelessModel


@register("snip")
class Snip(Criterion):
    """Score |dL/dw * w| on a batch, normalised to sum to 1 (Lee et al. 2019).

    The batch is meant to be class-balanced (``Dataset.balanced_batch``; the
    SynFlow code of Tanaka et al. 2020 uses 10 examples per class). The loss
    is evaluated with BatchNorm in training mode (batch statistics), as in
    the public GraSP/SNIP code that Su et al. 2020 build on; moving
    statistics are never updated.

    Args:
      inputs, labels: the scoring batch (normalised images, integer labels).
      batch_size: split the batch into chunks of this size (None: one pass).
      training: BatchNorm mode of the scoring pass.
    """

    def __init__(self, inputs, labels, batch_size=None, training=True):
        self.inputs, self.labels = inputs, labels
        self.batch_size, self.training = batch_size, training

    def scores(self, model, targets):
        gradients = StatelessModel(model, targets).loss_gradient(
            self.inputs, self.labels, training=self.training, batch_size=self.batch_size)
        saliency = [np.abs(g * t.kernel.numpy()) for g, t in zip(gradients, targets)]
        total = sum(float(s.sum()) for s in saliency)
        # Normalising does not change the ranking; it makes scores comparable across runs.
        scale = 1.0 / total if total > 0 else 1.0
        return {t.path: s * scale for t, s in zip(targets, saliency)}
