"""Block and filter criteria, and the choices the pruner makes from them."""

import keras
import numpy as np
import pytest

from lth_keras.models import build, residual_blocks
from lth_keras.pruning import Criterion
from lth_keras.structured import (
    SaliencyBlocks, SaliencyFilters, add_channel_gates, block_criterion, channel_gates,
    choose_blocks, effective_report, filter_criterion, filter_masks, gated_resnet, linear_cka,
    prune_blocks, prune_filters, prune_filters_to_multiply_adds, removable_groups, removed_blocks)
from structured_util import SHAPE, images, randomize_batch_norms


class Ones(Criterion):
    """Every weight scores 1: block sums count weights, means are all 1."""

    def scores(self, model, targets):
        return {t.path: np.ones(t.kernel.shape) for t in targets}


@pytest.fixture(scope="module")
def resnet20():
    return gated_resnet("resnet20", SHAPE, 10, seed=0)


def test_non_removable_blocks_are_never_chosen(resnet20):
    names = [b["name"] for b in residual_blocks(resnet20)]
    # The downsampling blocks score lowest of all, and are still never chosen.
    scores = {n: (-100.0 if n in ("stage2_block1", "stage3_block1") else float(i))
              for i, n in enumerate(names)}
    chosen = choose_blocks(resnet20, scores, 7)
    assert "stage2_block1" not in chosen and "stage3_block1" not in chosen
    assert len(chosen) == 7
    assert choose_blocks(resnet20, scores, 2) == ["stage1_block1", "stage1_block2"]
    with pytest.raises(ValueError, match="p: expected 0..7"):
        choose_blocks(resnet20, scores, 8)


def test_saliency_blocks_aggregate_by_sum_or_mean(resnet20):
    blocks = residual_blocks(resnet20)
    total = SaliencyBlocks(Ones(), "sum").scores(resnet20, blocks)
    assert total["stage1_block2"] == 2 * 9 * 16 * 16
    assert total["stage3_block2"] == 2 * 9 * 64 * 64
    # A downsampling block's shortcut conv is one of its kernels.
    assert total["stage2_block1"] == 9 * 16 * 32 + 9 * 32 * 32 + 16 * 32
    mean = SaliencyBlocks(Ones(), "mean").scores(resnet20, blocks)
    assert set(mean.values()) == {1.0}
    with pytest.raises(ValueError, match="aggregation"):
        SaliencyBlocks(Ones(), "max")


def test_snip_block_scores_prune_blocks():
    model = gated_resnet("resnet20", SHAPE, 10, seed=1)
    rng = np.random.default_rng(0)
    x, y = images(10), rng.integers(0, 10, 10)
    criterion = block_criterion("snip", inputs=x, labels=y)
    removed, scores = prune_blocks(model, 2, criterion)
    assert removed_blocks(model) == removed and len(removed) == 2
    assert 0.0 < sum(scores.values()) < 1.0  # SNIP sums to 1 over all kernels, stem and output too
    assert scores[removed[0]] <= min(scores[b] for b in scores if b not in removed
                                     and b not in ("stage2_block1", "stage3_block1"))


def test_linear_cka():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, 6))
    rotation, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    assert linear_cka(x, x) == pytest.approx(1.0)
    assert linear_cka(x, 3.0 * x @ rotation) == pytest.approx(1.0)  # invariant to scale and rotation
    assert linear_cka(x, rng.normal(size=(20, 6))) < 0.7


def test_cka_and_gate_and_random_block_criteria(resnet20):
    blocks = residual_blocks(resnet20)
    cka = block_criterion("cka", inputs=images(8)).scores(resnet20, blocks)
    assert all(0.0 <= v <= 1.0 for v in cka.values())
    gate = block_criterion("gate").scores(resnet20, blocks)
    assert set(gate.values()) == {1.0}
    first = block_criterion("random", seed=3).scores(resnet20, blocks)
    assert first == block_criterion("random", seed=3).scores(resnet20, blocks)
    assert first != block_criterion("random", seed=4).scores(resnet20, blocks)
    with pytest.raises(ValueError, match="criterion: unknown"):
        block_criterion("hrank")


@pytest.fixture(scope="module")
def gated_vgg():
    model = randomize_batch_norms(build("vgg11", SHAPE, 10, seed=0))
    return add_channel_gates(model)


def test_filter_norms_and_bn_gamma(gated_vgg):
    groups = removable_groups(gated_vgg)
    kernel = gated_vgg.get_layer("block2_conv1").kernel.numpy()
    l1 = filter_criterion("l1").scores(gated_vgg, groups)["block2_conv1"]
    np.testing.assert_allclose(l1, np.abs(kernel).sum(axis=(0, 1, 2)), rtol=1e-5)
    l2 = filter_criterion("l2").scores(gated_vgg, groups)["block2_conv1"]
    np.testing.assert_allclose(l2, np.sqrt((kernel ** 2).sum(axis=(0, 1, 2))), rtol=1e-5)
    gamma = filter_criterion("bn_gamma").scores(gated_vgg, groups)["block2_conv1"]
    np.testing.assert_allclose(gamma, np.abs(gated_vgg.get_layer("block2_bn1").gamma.numpy()))
    per_filter = SaliencyFilters(Ones(), "sum").scores(gated_vgg, groups)
    np.testing.assert_array_equal(per_filter["block2_conv1"], np.full(128, 9 * 64))


def test_taylor_is_the_gate_gradient_and_changes_no_state(gated_vgg):
    groups = removable_groups(gated_vgg)
    rng = np.random.default_rng(0)
    x, y = images(6), rng.integers(0, 10, 6)
    before = [v.numpy().copy() for v in gated_vgg.weights]
    scores = filter_criterion("taylor", inputs=x, labels=y).scores(gated_vgg, groups)
    assert all(np.array_equal(a, v.numpy()) for a, v in zip(before, gated_vgg.weights))
    gate = channel_gates(gated_vgg)["block3_conv1"].gate
    import tensorflow as tf

    with tf.GradientTape() as tape:
        tape.watch(gate.value)
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(y, gated_vgg(x, training=True))
    expected = np.abs(tape.gradient(loss, gate.value).numpy())
    for v, value in zip(gated_vgg.weights, before):
        v.assign(value)  # training-mode call moved the BN statistics
    np.testing.assert_allclose(scores["block3_conv1"], expected, rtol=1e-3, atol=1e-7)


def test_filter_masks_keep_exact_counts_and_at_least_one():
    class Group:
        def __init__(self, name, channels):
            self.name, self.channels = name, channels

    groups = [Group("a", 10), Group("b", 3)]
    scores = {"a": np.arange(10)[::-1], "b": np.zeros(3)}
    masks = filter_masks(groups, scores, 0.3)
    np.testing.assert_array_equal(masks["a"], [1] * 7 + [0] * 3)
    np.testing.assert_array_equal(masks["b"], [0, 1, 1])  # ties: the earlier channel goes
    assert filter_masks(groups, scores, 0.99)["b"].sum() == 1


def test_prune_filters_to_multiply_adds_hits_the_target():
    model = add_channel_gates(gated_resnet("resnet20", SHAPE, 10, seed=0))
    dense = effective_report(model)["structured_multiply_adds"]
    fraction, _ = prune_filters_to_multiply_adds(model, 0.75 * dense, filter_criterion("l1"))
    reached = effective_report(model)["structured_multiply_adds"] / dense
    assert 0.0 < fraction < 0.5
    assert reached == pytest.approx(0.75, abs=0.03)
    with pytest.raises(ValueError, match="fraction"):
        prune_filters(model, 1.0, filter_criterion("l1"))
