"""GraSP: gradient signal preservation at initialization (Wang et al. 2020)."""

from lth_keras.pruning.criteria import Criterion, register
from lth_keras.pruning.saliency.stateless import StatelessModel


@register("grasp")
class GraSP(Criterion):
    """Keep score theta * (H g), the negative of GraSP's S = -theta * (H g).

    Wang et al. 2020 remove the weights of highest S; returning -S keeps the
    pruner's "higher = keep" convention and removes exactly those. g is the
    gradient of the cross-entropy of logits / ``temperature`` (T = 200 in
    their code), H its Hessian, H g a Hessian-vector product. Scored with
    BatchNorm in training mode, as in their code (moving statistics untouched).

    Args:
      inputs, labels: a class-balanced batch (their code: 10 per class on CIFAR-10).
      temperature: T.
      batch_size: split the batch into chunks of this size (None: one pass).
      training: BatchNorm mode of the scoring passes.
    """

    def __init__(self, inputs, labels, temperature=200.0, batch_size=None, training=True):
        if not temperature > 0:
            raise ValueError(f"temperature: expected > 0, got {temperature!r}.")
        self.inputs, self.labels = inputs, labels
        self.temperature, self.batch_size, self.training = float(temperature), batch_size, training

    def gradient(self, model, targets):
        """g: the gradient of the tempered loss, one array per target."""
        return StatelessModel(model, targets).loss_gradient(
            self.inputs, self.labels, self.temperature, self.training, self.batch_size)

    def hessian_gradient_product(self, model, targets, vectors=None):
        """H v for ``vectors`` (default: H g), one array per target."""
        if vectors is None:
            vectors = self.gradient(model, targets)
        return StatelessModel(model, targets).hessian_vector_product(
            self.inputs, self.labels, vectors, self.temperature, self.training, self.batch_size)

    def scores(self, model, targets):
        products = self.hessian_gradient_product(model, targets)
        return {t.path: t.kernel.numpy() * hg for t, hg in zip(targets, products)}
