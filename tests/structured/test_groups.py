"""Coupled channel groups from the graph: BN with its conv, residual adds as one."""

import keras
import pytest

from structured_util import SHAPE
from lth_keras.models import build
from lth_keras.structured import channel_groups, removable_groups


def by_name(groups):
    return {g.name: g for g in groups}


def test_resnet20_residual_stage_is_one_group():
    groups = by_name(channel_groups(build("resnet20", SHAPE, 10, seed=0)))
    stage1 = groups["stem_conv"]
    assert stage1.producers == ["stem_conv"] + [f"stage1_block{b}_conv2" for b in (1, 2, 3)]
    assert stage1.anchors == ["stem_bn"] + [f"stage1_block{b}_bn2" for b in (1, 2, 3)]
    assert [c for c, _ in stage1.consumers] == [
        "stage1_block1_conv1", "stage1_block2_conv1", "stage1_block3_conv1",
        "stage2_block1_conv1", "stage2_block1_shortcut_conv"]
    stage2 = groups["stage2_block1_shortcut_conv"]
    assert "stage2_block1_conv2" in stage2.producers and "stage2_block1_shortcut_bn" in stage2.followers
    inner = groups["stage2_block2_conv1"]
    assert inner.producers == ["stage2_block2_conv1"] and inner.followers == ["stage2_block2_bn1"]
    assert inner.consumers == [("stage2_block2_conv2", 1)]
    assert len(groups) == 3 + 9 + 1  # three stages, nine inner groups, the output
    assert not groups["output"].removable and "output" in groups["output"].reason


def test_zero_pad_shortcut_makes_its_stages_unremovable():
    groups = by_name(channel_groups(build("resnet20", SHAPE, 10, shortcut="zero_pad")))
    assert not groups["stem_conv"].removable
    assert "ZeroPadShortcut" in groups["stem_conv"].reason
    assert groups["stage1_block1_conv1"].removable


def test_vgg11_every_conv_is_its_own_group():
    groups = removable_groups(build("vgg11", SHAPE, 10, seed=0))
    assert [g.name for g in groups] == [
        "block1_conv1", "block2_conv1", "block3_conv1", "block3_conv2",
        "block4_conv1", "block4_conv2", "block5_conv1", "block5_conv2"]
    assert all(len(g.producers) == 1 and len(g.followers) == 1 for g in groups)
    assert groups[-1].consumers == [("output", 1)]


def test_flatten_spreads_channels_over_positions():
    inputs = keras.Input((6, 6, 2))
    x = keras.layers.Conv2D(4, 3, name="conv")(inputs)  # 4 x 4 positions
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(5, name="fc")(x)
    model = keras.Model(inputs, keras.layers.Dense(3, name="out")(x))
    groups = by_name(channel_groups(model))
    assert groups["conv"].consumers == [("fc", 16)]
    assert groups["conv"].removable


def test_activation_with_nonzero_value_at_zero_blocks_removal():
    inputs = keras.Input((8,))
    x = keras.layers.Dense(4, name="fc")(inputs)
    x = keras.layers.Activation("sigmoid")(x)
    model = keras.Model(inputs, keras.layers.Dense(2, name="out")(x))
    assert not by_name(channel_groups(model))["fc"].removable


def test_sequential_model_is_rejected():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="Functional"):
        channel_groups(model)
