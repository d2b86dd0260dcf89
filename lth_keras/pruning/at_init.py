"""Named methods of pruning at initialization: a score, or a distribution and a score.

``prune_at_init(model, "snip", sparsity=0.9, data=dataset, seed=0)`` prunes a
freshly initialised masked model in place and returns its masks. Scored
methods rank all layers together (global); distribution methods fix each
layer's keep count (:mod:`lth_keras.pruning.distributions`) and rank within
layers. Every method keeps exactly round((1 - sparsity) * N) weights.
"""

from lth_keras.pruning import distributions
from lth_keras.pruning.criteria import Magnitude, Random
from lth_keras.pruning.pruner import prune
from lth_keras.pruning.saliency import GraSP, Snip, prune_synflow
from lth_keras.pruning.saliency.synflow import ITERATIONS
from lth_keras.registry import Registry

METHODS = Registry("method")
# Methods that never look at the training data.
DATA_FREE = set()
EXAMPLES_PER_CLASS = 10  # SNIP/GraSP batches in the SynFlow code (Tanaka et al. 2020)


def method(name, uses_data=False):
    """Registers ``fn(model, sparsity, data, seed, **options) -> masks`` as ``name``."""

    if not uses_data:
        DATA_FREE.add(name)
    return METHODS.register(name)


def prune_at_init(model, method, sparsity, data=None, seed=0, **options):
    """Prunes ``model`` at initialization by ``method``; returns the mask set.

    Args:
      model: a masked model at theta_0 (dense).
      method: a name in ``METHODS``.
      sparsity: the fraction of prunable weights to remove, in (0, 1).
      data: a :class:`lth_keras.data.Dataset` (methods that score on data).
      seed: seed of random masks and of the scoring batch.
      options: method options (``examples_per_class``, ``temperature``,
        ``iterations``).
    """
    fn = METHODS.get(method)
    if isinstance(sparsity, bool) or not isinstance(sparsity, (int, float)) or not 0.0 < sparsity < 1.0:
        raise ValueError(f"sparsity: expected a fraction in (0, 1), got {sparsity!r}.")
    if method not in DATA_FREE and data is None:
        raise ValueError(f"data: method '{method}' scores on training batches; pass a Dataset.")
    return fn(model, sparsity, data, seed, **options)


def _batch(data, seed, examples_per_class):
    return data.balanced_batch(examples_per_class, seed)


@method("snip", uses_data=True)
def snip(model, sparsity, data, seed, examples_per_class=EXAMPLES_PER_CLASS):
    """SNIP (Lee et al. 2019), one shot, global."""
    x, y = _batch(data, seed, examples_per_class)
    return prune(model, density=1.0 - sparsity, criterion=Snip(x, y))


@method("grasp", uses_data=True)
def grasp(model, sparsity, data, seed, examples_per_class=EXAMPLES_PER_CLASS, temperature=200.0):
    """GraSP (Wang et al. 2020), one shot, global."""
    x, y = _batch(data, seed, examples_per_class)
    return prune(model, density=1.0 - sparsity, criterion=GraSP(x, y, temperature))


@method("synflow")
def synflow(model, sparsity, data, seed, iterations=ITERATIONS):
    """SynFlow (Tanaka et al. 2020): 100 rounds of an exponential schedule, global."""
    return prune_synflow(model, 1.0 - sparsity, iterations)


@method("magnitude")
def magnitude(model, sparsity, data, seed):
    """Global magnitude at initialization (Frankle et al. 2021's baseline)."""
    return prune(model, density=1.0 - sparsity, criterion=Magnitude())


def _by_distribution(model, sparsity, name, criterion):
    densities = distributions.layer_densities(model, name, 1.0 - sparsity)
    return prune(model, density=densities, scope="layerwise", criterion=criterion)


def _smart_ratio_name(model):
    # Su et al.'s code divides by l^2 for VGG and not for ResNets.
    return "smart_ratio_vgg" if model.name.lower().startswith("vgg") else "smart_ratio"


@method("random")
def random(model, sparsity, data, seed):
    """Random within layers, every layer at the same density."""
    return _by_distribution(model, sparsity, "uniform", Random(seed))


@method("random_ticket")
def random_ticket(model, sparsity, data, seed):
    """Random tickets (Su et al. 2020): smart ratio, random within layers."""
    return _by_distribution(model, sparsity, _smart_ratio_name(model), Random(seed))


@method("hybrid_ticket")
def hybrid_ticket(model, sparsity, data, seed):
    """Hybrid tickets (Su et al. 2020): smart ratio, top-|w| within layers."""
    return _by_distribution(model, sparsity, _smart_ratio_name(model), Magnitude())


@method("erk_random")
def erk_random(model, sparsity, data, seed):
    """ERK layer densities (Evci et al. 2020), random within layers."""
    return _by_distribution(model, sparsity, "erk", Random(seed))
