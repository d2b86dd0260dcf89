"""CIFAR ResNets: counts, named blocks, the block-gate hook, .keras round trip."""

import keras
import numpy as np
import pytest

from lth_keras.models import build, residual_blocks

CIFAR = (32, 32, 3)


def trainable(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


@pytest.fixture(scope="module")
def resnet20():
    return build("resnet20", CIFAR, 10, seed=0)


def test_resnet20_counts(resnet20):
    # He et al. 2016, Table 6: 0.27M (option A); projections add 2,752.
    assert trainable(resnet20) == 272_474
    option_a = build("resnet20", CIFAR, 10, shortcut="zero_pad")
    assert trainable(option_a) == 269_722
    assert trainable(option_a) == pytest.approx(0.27e6, rel=0.01)


def test_residual_blocks_of_resnet20(resnet20):
    blocks = residual_blocks(resnet20)
    assert [b["name"] for b in blocks] == [
        f"stage{s}_block{b}" for s in (1, 2, 3) for b in (1, 2, 3)
    ]
    assert [b["name"] for b in blocks if b["downsampling"]] == [
        "stage2_block1", "stage3_block1",
    ]
    assert blocks[4]["layers"] == [
        f"stage2_block2_{part}"
        for part in ("conv1", "bn1", "relu1", "conv2", "bn2", "add", "out")
    ]
    assert {"stage2_block1_shortcut_conv", "stage2_block1_shortcut_bn"} <= set(
        blocks[3]["layers"]
    )


def test_residual_blocks_of_resnet18():
    model = build("resnet18", (28, 28, 1), 10)
    blocks = residual_blocks(model)
    assert len(blocks) == 8
    assert [b["name"] for b in blocks if b["downsampling"]] == [
        "stage2_block1", "stage3_block1", "stage4_block1",
    ]
    assert model.get_layer("stem_conv").kernel.shape == (3, 3, 1, 64)
    assert model.get_layer("stage4_block2_out").output.shape == (None, 4, 4, 512)


def test_zero_pad_shortcut_keeps_block_structure():
    model = build("resnet20", (28, 28, 1), 10, shortcut="zero_pad")
    blocks = residual_blocks(model)
    assert [b["name"] for b in blocks if b["downsampling"]] == [
        "stage2_block1", "stage3_block1",
    ]
    assert "stage3_block1_shortcut_pad" in blocks[6]["layers"]
    assert model.get_layer("stage3_block1_out").output.shape == (None, 7, 7, 64)
    with pytest.raises(ValueError, match="`shortcut`"):
        build("resnet20", CIFAR, 10, shortcut="C")


def test_block_gate_applies_to_residual_branch():
    def zero_gate(name):
        return keras.layers.Rescaling(0.0, name=name)

    gated = build("resnet20", CIFAR, 10, seed=0, block_gate=zero_gate)
    blocks = residual_blocks(gated)
    assert all(f"{b['name']}_gate" in b["layers"] for b in blocks)
    # A closed gate leaves relu(shortcut(x)): the identity on a relu'd input.
    probe = keras.Model(
        gated.input,
        [gated.get_layer("stem_relu").output, gated.get_layer("stage1_block3_out").output],
    )
    x = np.random.default_rng(0).normal(size=(2, *CIFAR)).astype("float32")
    stem, out = probe(x, training=False)
    np.testing.assert_allclose(np.asarray(out), np.asarray(stem), atol=1e-6)
    # Layer seeds follow names: adding gates leaves every other theta_0 unchanged.
    plain = build("resnet20", CIFAR, 10, seed=0)
    for layer in plain.layers:
        for a, b in zip(layer.weights, gated.get_layer(layer.name).weights):
            np.testing.assert_array_equal(a.numpy(), b.numpy())


# Keras's own saving code converts variables with np.array(copy=False).
@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
@pytest.mark.parametrize("shortcut", ["projection", "zero_pad"])
def test_keras_round_trip(tmp_path, shortcut):
    model = build("resnet20", CIFAR, 10, seed=0, shortcut=shortcut)
    rng = np.random.default_rng(1)
    # Non-default state that must survive: a pruned mask and BN statistics.
    conv = model.get_layer("stage2_block2_conv1")
    conv.kernel_mask.assign((rng.random(conv.kernel_mask.shape) > 0.5).astype("float32"))
    bn = model.get_layer("stage2_block2_bn1")
    bn.moving_mean.assign(rng.normal(size=bn.moving_mean.shape).astype("float32"))
    path = tmp_path / "resnet20.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    x = rng.normal(size=(2, *CIFAR)).astype("float32")
    np.testing.assert_allclose(
        np.asarray(loaded(x, training=False)), np.asarray(model(x, training=False)),
        rtol=1e-6, atol=1e-6,
    )
    np.testing.assert_array_equal(
        loaded.get_layer("stage2_block2_conv1").kernel_mask.numpy(),
        conv.kernel_mask.numpy(),
    )


def test_invalid_depth():
    from lth_keras.models import cifar_resnet

    with pytest.raises(ValueError, match="`depth`"):
        cifar_resnet(CIFAR, 10, depth=21)
