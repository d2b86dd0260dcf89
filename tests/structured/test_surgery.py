"""Compaction: same outputs, smaller model, and the cost the gated model reports."""

import keras
import numpy as np
import pytest

from lth_keras import metrics, structured
from lth_keras.layers import BlockGate, ChannelGate, MaskedLayer
from lth_keras.models import build
from lth_keras.structured import (
    add_channel_gates, channel_gates, compact, effective_report, gated_resnet, remove_blocks)
from structured_util import SHAPE, images, random_channel_masks, randomize_batch_norms


def assert_same_cost(gated, compacted):
    gated_cost, real = effective_report(gated), metrics.report(compacted)
    assert structured.report(gated) == gated_cost  # the gate-aware report reads the gates
    assert gated_cost["structured_params"] == real["total_params"]
    assert gated_cost["nonzero_params"] == real["nonzero_params"]
    assert gated_cost["structured_multiply_adds"] == real["dense_multiply_adds"]
    assert gated_cost["effective_multiply_adds"] == real["effective_multiply_adds"]


def is_plain(model):
    return not any(isinstance(l, (MaskedLayer, ChannelGate, BlockGate)) for l in model.layers)


@pytest.fixture(scope="module")
def resnet20():
    return randomize_batch_norms(gated_resnet("resnet20", SHAPE, 10, seed=0))


@pytest.fixture(scope="module")
def vgg11():
    return randomize_batch_norms(build("vgg11", SHAPE, 10, seed=4), seed=4)


def test_resnet20_with_blocks_removed(resnet20):
    x = images()
    remove_blocks(resnet20, ["stage1_block2", "stage1_block3", "stage3_block3"])
    small = compact(resnet20)
    np.testing.assert_allclose(small(x), resnet20(x), atol=1e-5)
    names = {l.name for l in small.layers}
    assert not any(n.startswith(("stage1_block2", "stage1_block3", "stage3_block3")) for n in names)
    assert "stage1_block1_conv1" in names and is_plain(small)
    assert_same_cost(resnet20, small)
    dense = effective_report(gated_resnet("resnet20", SHAPE, 10, seed=0))
    # Each removed block had two 3x3 convs of 16 (or 64) channels on 16x16 (or 4x4) maps.
    saved = dense["structured_multiply_adds"] - effective_report(resnet20)["structured_multiply_adds"]
    assert saved == 3 * 2 * (9 * 16 * 16) * (16 * 16)


def test_block_gate_at_zero_contributes_nothing():
    model = randomize_batch_norms(gated_resnet("resnet20", SHAPE, 10, seed=1))
    x = images()
    remove_blocks(model, ["stage2_block2"])
    before = model(x)
    conv = model.get_layer("stage2_block2_conv1")
    conv.kernel.assign(conv.kernel * 100.0)
    model.get_layer("stage2_block2_bn2").beta.assign(np.full(32, 5.0, np.float32))
    np.testing.assert_array_equal(model(x), before)
    np.testing.assert_allclose(compact(model)(x), before, atol=1e-5)


def test_downsampling_block_gated_to_zero_keeps_its_shortcut():
    model = randomize_batch_norms(gated_resnet("resnet20", SHAPE, 10, seed=2))
    model.get_layer("stage2_block1_gate").assign(0.0)
    small = compact(model)
    names = {l.name for l in small.layers}
    assert "stage2_block1_shortcut_conv" in names and "stage2_block1_conv1" not in names
    assert "stage2_block1_out" in names  # the shortcut's BN output can be negative
    np.testing.assert_allclose(small(images()), model(images()), atol=1e-5)


def test_resnet20_channels_coupled_by_residual_adds():
    model = randomize_batch_norms(gated_resnet("resnet20", SHAPE, 10, seed=3), seed=3)
    remove_blocks(model, ["stage2_block3"])
    gated = add_channel_gates(model)
    gates = channel_gates(gated)
    assert "stem_conv" in gates  # the stage-1 group: stem and every block's conv2
    random_channel_masks(gates, seed=3)
    x = images()
    small = compact(gated)
    np.testing.assert_allclose(small(x), gated(x), atol=1e-5)
    kept = int(gates["stem_conv"].values().sum())
    for name in ("stem_conv", "stage1_block1_conv2", "stage1_block3_conv2"):
        assert small.get_layer(name).kernel.shape[-1] == kept
    assert small.get_layer("stage1_block2_conv1").kernel.shape[-2] == kept
    assert small.get_layer("stem_bn").gamma.shape[0] == kept
    assert_same_cost(gated, small)


def test_channel_gates_at_one_change_nothing(vgg11):
    model = vgg11
    gated = add_channel_gates(model)
    np.testing.assert_allclose(gated(images()), model(images()), atol=1e-6)


def test_vgg11_with_filters_removed_and_gate_values_folded(vgg11):
    model = vgg11
    gated = add_channel_gates(model)
    gates = channel_gates(gated)
    random_channel_masks(gates, seed=4, keep=0.3)
    rng = np.random.default_rng(4)
    last = gates["block5_conv2"]
    last.assign(last.values() * rng.uniform(0.5, 1.5, last.gate.shape).astype(np.float32))
    x = images()
    small = compact(gated)
    np.testing.assert_allclose(small(x), gated(x), atol=1e-5)
    assert small.get_layer("block1_conv1").kernel.shape[-1] == int(gates["block1_conv1"].values().astype(bool).sum())
    assert small.get_layer("output").kernel.shape[0] == int(last.values().astype(bool).sum())
    assert is_plain(small)
    assert_same_cost(gated, small)
    assert metrics.report(small)["total_params"] < 0.2 * metrics.report(model)["total_params"]


def test_masks_are_folded_and_counted():
    model = build("lenet300_100", (28, 28, 1), 10, seed=0)
    fc1 = model.get_layer("fc1")
    fc1.kernel_mask.assign((np.arange(fc1.kernel.shape[0] * 300).reshape(-1, 300) % 2).astype(np.float32))
    gated = add_channel_gates(model)
    random_channel_masks(channel_gates(gated), seed=5)
    x = np.random.default_rng(0).random((3, 28, 28, 1), dtype=np.float32)
    small = compact(gated)
    np.testing.assert_allclose(small(x), gated(x), atol=1e-5)
    assert_same_cost(gated, small)


def test_group_with_no_channel_left_is_refused(vgg11):
    gated = add_channel_gates(vgg11)
    channel_gates(gated)["block2_conv1"].assign(np.zeros(128, np.float32))
    with pytest.raises(ValueError, match="every channel"):
        compact(gated)


def test_compacted_model_round_trips_through_keras_file(tmp_path, resnet20):
    remove_blocks(resnet20, ["stage2_block2"])
    gated = add_channel_gates(resnet20)
    random_channel_masks(channel_gates(gated), seed=6)
    small = compact(gated)
    path = tmp_path / "small.keras"
    small.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded(images()), gated(images()), atol=1e-5)
    gated_path = tmp_path / "gated.keras"
    gated.save(gated_path)
    np.testing.assert_array_equal(keras.models.load_model(gated_path)(images()), gated(images()))
