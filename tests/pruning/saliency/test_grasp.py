"""GraSP's Hessian-vector product against finite differences, and its sign."""

import keras
import numpy as np

import lth_keras
from lth_keras.pruning import prunable_weights, prune
from lth_keras.pruning.saliency import GraSP


def _tiny():
    model = lth_keras.wrap(keras.Sequential([
        keras.Input((5,)),
        keras.layers.Dense(7, activation="tanh", name="fc"),
        keras.layers.Dense(4, name="output"),
    ]))
    return model


def _data():
    rng = np.random.default_rng(1)
    return rng.normal(size=(16, 5)).astype(np.float32), np.arange(16) % 4


def test_hessian_vector_product_matches_finite_differences():
    model = _tiny()
    x, y = _data()
    targets = prunable_weights(model)
    for temperature in (1.0, 200.0):
        grasp = GraSP(x, y, temperature=temperature)
        g = grasp.gradient(model, targets)
        norm = np.sqrt(sum(float((gi ** 2).sum()) for gi in g))
        v = [gi / norm for gi in g]
        hv = grasp.hessian_gradient_product(model, targets, v)
        theta = [t.kernel.numpy() for t in targets]
        h = 1e-2
        sides = []
        for sign in (1.0, -1.0):
            for t, w, vi in zip(targets, theta, v):
                t.kernel.assign(w + sign * h * vi)
            sides.append(grasp.gradient(model, targets))
        for t, w in zip(targets, theta):
            t.kernel.assign(w)
        finite = [(a - b) / (2 * h) for a, b in zip(*sides)]
        error = np.sqrt(sum(float(((a - b) ** 2).sum()) for a, b in zip(hv, finite)))
        scale = np.sqrt(sum(float((b ** 2).sum()) for b in finite))
        assert scale > 0 and error / scale < 2e-2, (temperature, error / scale)


def test_scores_are_theta_times_hg_and_pruning_removes_the_highest_minus_theta_hg():
    model = _tiny()
    x, y = _data()
    targets = prunable_weights(model)
    grasp = GraSP(x, y)
    hg = grasp.hessian_gradient_product(model, targets)
    scores = grasp.scores(model, targets)
    for t, product in zip(targets, hg):
        np.testing.assert_allclose(scores[t.path], t.kernel.numpy() * product, rtol=1e-6)
    # Wang et al. remove the largest S = -theta * Hg.
    s = np.concatenate([(-t.kernel.numpy() * p).ravel() for t, p in zip(targets, hg)])
    masks = prune(model, density=0.5, criterion=grasp)
    kept = np.concatenate([masks[t.path].ravel() for t in targets]) > 0
    assert s[kept].max() <= s[~kept].min()
