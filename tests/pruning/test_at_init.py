"""Every named method of pruning at initialization hits the requested sparsity exactly."""

import numpy as np
import pytest

import lth_keras
from lth_keras.models import build
from lth_keras.pruning import layer_densities, prunable_weights
from lth_keras.pruning.at_init import DATA_FREE, METHODS, prune_at_init
from lth_keras.pruning.saliency import GraSP, Snip, SynFlow

import helpers


class _Batches:
    """A stand-in dataset: the class-balanced batch SNIP and GraSP ask for."""

    def __init__(self, shape, classes=10):
        self.shape, self.classes = shape, classes

    def balanced_batch(self, examples_per_class, seed):
        n = examples_per_class * self.classes
        return helpers.batch(self.shape, n=n, seed=seed), np.arange(n) % self.classes


@pytest.mark.parametrize("method", sorted(METHODS))
@pytest.mark.parametrize("sparsity", [0.9, 0.99])
def test_each_method_reaches_exactly_the_requested_sparsity(method, sparsity):
    model = lth_keras.wrap(helpers.small_cnn())  # every maskable layer type, BN, a nested model
    n = sum(t.size for t in prunable_weights(model))
    options = {"iterations": 10} if method == "synflow" else {}
    masks = prune_at_init(model, method, sparsity, _Batches((12, 12, 3)), seed=0, **options)
    assert sum(int(m.sum()) for m in masks.values()) == round((1 - sparsity) * n)
    assert lth_keras.density(model) == pytest.approx(1 - sparsity, abs=1 / n)


def test_random_methods_are_reproducible_and_seeded():
    def masks(seed):
        model = build("lenet300_100", (28, 28, 1), 10, seed=0)
        return prune_at_init(model, "random_ticket", 0.9, seed=seed)

    a, b, c = masks(0), masks(0), masks(1)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not all(np.array_equal(a[k], c[k]) for k in a)


def test_tickets_follow_smart_ratio_and_hybrid_keeps_the_largest_weights():
    random_model = build("lenet300_100", (28, 28, 1), 10, seed=0)
    hybrid_model = build("lenet300_100", (28, 28, 1), 10, seed=0)
    theta = {t.path: np.abs(t.kernel.numpy()) for t in prunable_weights(hybrid_model)}
    random = prune_at_init(random_model, "random_ticket", 0.95)
    hybrid = prune_at_init(hybrid_model, "hybrid_ticket", 0.95)
    assert layer_densities(random) == layer_densities(hybrid)
    assert layer_densities(hybrid)["output/kernel"] == pytest.approx(0.3)
    for path, mask in hybrid.items():
        assert theta[path][mask > 0].min() >= theta[path][mask == 0].max()


@pytest.mark.parametrize("name, shape", [("lenet300_100", (28, 28, 1)), ("conv2", (8, 8, 3)),
                                         ("resnet20", (8, 8, 3))])
def test_scores_work_for_zoo_models(name, shape):
    """Dense and conv nets, BatchNorm in training mode, residual adds. (GraSP's
    second-order pass through training-mode BatchNorm is covered on small_cnn
    above; on ResNet-20 its trace alone takes ~10 s.)"""
    model = build(name, shape, 10, seed=0)
    targets = prunable_weights(model)
    x, y = _Batches(shape).balanced_batch(2, 0)
    criteria = [Snip(x, y), SynFlow()] + ([GraSP(x, y)] if name != "resnet20" else [])
    for criterion in criteria:
        scores = criterion.scores(model, targets)
        assert set(scores) == {t.path for t in targets}
        for t in targets:
            assert scores[t.path].shape == tuple(t.kernel.shape)
            assert np.isfinite(scores[t.path]).all()


def test_bad_arguments():
    model = build("lenet300_100", (28, 28, 1), 10, seed=0)
    with pytest.raises(ValueError, match="method"):
        prune_at_init(model, "nope", 0.9)
    with pytest.raises(ValueError, match="sparsity"):
        prune_at_init(model, "random", 1.0)
    with pytest.raises(ValueError, match="data"):
        prune_at_init(model, "snip", 0.9)
    assert {"snip", "grasp"} == set(METHODS) - DATA_FREE
