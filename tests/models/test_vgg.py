import pytest

from lth_keras.models import build


@pytest.mark.parametrize("name, convs", [("vgg11", 8), ("vgg16", 13), ("vgg19", 16)])
def test_vgg_layers(name, convs):
    model = build(name, (32, 32, 3), 10)
    names = [layer.name for layer in model.layers]
    assert sum("_conv" in n for n in names) == sum("_bn" in n for n in names) == convs
    assert {"block1_conv1", "block1_bn1", "block5_conv2", "pool", "output"} <= set(names)
    # Four max-pools, none after block 5, then a global average pool and one Dense.
    assert [n for n in names if n.endswith("_pool")] == [f"block{b}_pool" for b in range(1, 5)]
    assert model.get_layer("pool").output.shape == (None, 512)
    assert names[-2:] == ["pool", "output"]
