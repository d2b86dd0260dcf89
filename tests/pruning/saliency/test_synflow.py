"""SynFlow: scores by hand, theta untouched, the schedule, and layer collapse."""

import keras
import numpy as np
import pytest

import lth_keras
from lth_keras.models import build
from lth_keras.pruning import get_masks, prunable_weights, prune
from lth_keras.pruning.saliency import SynFlow, exponential_densities, prune_synflow
from lth_keras.pruning.saliency.stateless import StatelessModel

import helpers


def test_scores_equal_the_synaptic_flow_computed_by_hand():
    model = lth_keras.wrap(keras.Sequential([
        keras.Input((4,)),
        keras.layers.Dense(6, activation="relu", name="fc1"),
        keras.layers.Dense(5, activation="relu", name="fc2"),
        keras.layers.Dense(3, name="output"),
    ]))
    layers = [model.get_layer(n) for n in ("fc1", "fc2", "output")]
    rng = np.random.default_rng(0)
    for layer in layers:
        layer.bias.assign(rng.normal(size=layer.bias.shape).astype(np.float32))
    # |theta| everywhere; all-ones input; R = sum of outputs; a ReLU net of
    # non-negative weights is linear on non-negative inputs.
    W = [np.abs(layer.kernel.numpy()).astype(np.float64) for layer in layers]
    b = [np.abs(layer.bias.numpy()).astype(np.float64) for layer in layers]
    activations = [np.ones(4)]
    for w, bias in zip(W, b):
        activations.append(activations[-1] @ w + bias)
    backward = [np.ones(3)]
    for w in reversed(W[1:]):
        backward.insert(0, w @ backward[0])
    expected = [np.outer(a, g) * w for a, g, w in zip(activations, backward, W)]

    scores = SynFlow().scores(model, prunable_weights(model))
    for layer, e in zip(layers, expected):
        np.testing.assert_allclose(scores[f"{layer.name}/kernel"], e, rtol=1e-5)


def test_flow_is_conserved_layer_by_layer_without_biases():
    # Tanaka et al. 2020, Theorem 1: every layer's scores sum to R.
    model = lth_keras.wrap(keras.Sequential([
        keras.Input((6, 6, 2)),
        keras.layers.Conv2D(4, 3, use_bias=False, name="conv"),
        keras.layers.BatchNormalization(center=False, name="bn"),
        keras.layers.ReLU(),
        keras.layers.Flatten(),
        keras.layers.Dense(8, use_bias=False, activation="relu", name="fc"),
        keras.layers.Dense(3, use_bias=False, name="output"),
    ]))
    targets = prunable_weights(model)
    _, _, flow = StatelessModel(model, targets).output_sum_gradient(np.ones((1, 6, 6, 2)))
    scores = SynFlow().scores(model, targets)
    for t in targets:
        assert scores[t.path].sum() == pytest.approx(flow, rel=1e-4)


def test_prune_synflow_restores_signs_and_batchnorm_exactly():
    model = lth_keras.wrap(helpers.small_cnn())
    bn = model.get_layer("bn1")
    bn.moving_mean.assign(np.linspace(-1, 1, 8).astype(np.float32))
    bn.gamma.assign(-np.ones(8, np.float32))
    before = {v.path: v.numpy().copy() for v in model.weights}
    masks = prune_synflow(model, 0.2, iterations=5)
    kernels = {t.kernel.path: t.path for t in prunable_weights(model)}
    for v in model.weights:
        if v.path in kernels:
            np.testing.assert_array_equal(v.numpy(), before[v.path] * masks[kernels[v.path]])
        elif not v.path.endswith("_mask"):
            np.testing.assert_array_equal(v.numpy(), before[v.path])


def test_exponential_schedule():
    assert exponential_densities(0.01, 2) == pytest.approx([0.1, 0.01])
    assert exponential_densities(0.001, 100)[-1] == 0.001
    assert exponential_densities(0.25, 2, start=0.5) == pytest.approx([0.5 * 0.5 ** 0.5, 0.25])
    with pytest.raises(ValueError, match="iterations"):
        exponential_densities(0.5, 0)


def test_synflow_keeps_every_lenet_layer_where_global_magnitude_collapses_one():
    """At 99.9% (266 of 266,200 weights) global magnitude empties fc1;
    100 rounds of SynFlow keep every layer (its purpose, Tanaka et al. 2020)."""
    magnitude = build("lenet300_100", (28, 28, 1), 10, seed=0)
    prune(magnitude, density=0.001)
    assert min(m.sum() for m in get_masks(magnitude).values()) == 0

    model = build("lenet300_100", (28, 28, 1), 10, seed=0)
    masks = prune_synflow(model, 0.001)
    kept = {p: int(m.sum()) for p, m in masks.items()}
    assert sum(kept.values()) == round(0.001 * 266200)
    assert min(kept.values()) > 0, kept


def test_synflow_keeps_resnet20_connected_at_99_9_percent():
    """Input 8x8x3 (parameters do not depend on it), the default 100 rounds.

    Every path from input to output crosses the stem, each downsampling
    block (its shortcut or its two convolutions) and the output layer; those
    keep weights and the synaptic flow stays positive. Residual branches of
    identity blocks can empty: the identity keeps the network connected, which
    is all SynFlow's maximal critical compression guarantees.
    """
    model = build("resnet20", (8, 8, 3), 10, seed=0)
    masks = prune_synflow(model, 0.001)
    kept = {p.split("/")[0]: int(m.sum()) for p, m in masks.items()}
    assert sum(kept.values()) == round(0.001 * sum(m.size for m in masks.values()))
    assert kept["stem_conv"] > 0 and kept["output"] > 0
    for stage in (2, 3):
        block = f"stage{stage}_block1"
        assert kept[f"{block}_shortcut_conv"] > 0 or (
            kept[f"{block}_conv1"] > 0 and kept[f"{block}_conv2"] > 0), kept
    _, _, flow = StatelessModel(model, prunable_weights(model)).output_sum_gradient(
        np.ones((1, 8, 8, 3)))
    assert flow > 0


def test_synflow_keeps_every_vgg16_layer_at_99_9_percent():
    """~30 s: the default 100 rounds over 14.7M weights."""
    model = build("vgg16", (16, 16, 3), 10, seed=0)
    masks = prune_synflow(model, 0.001)
    kept = {p: int(m.sum()) for p, m in masks.items()}
    assert sum(kept.values()) == round(0.001 * sum(m.size for m in masks.values()))
    assert min(kept.values()) > 0, kept
