"""Layerwise density distributions: exact global counts, ERK capping, smart ratio by hand."""

import keras
import numpy as np
import pytest

import lth_keras
from lth_keras.models import build
from lth_keras.pruning import distributions, prunable_weights, prune
from lth_keras.pruning.criteria import Random


def _counts(model, densities):
    return {t.path: int(round(densities[t.path] * t.size)) for t in prunable_weights(model)}


def _mlp(widths, inputs=10):
    """Masked Dense layers of the given widths; the last one is the output."""
    layers = [keras.layers.Dense(w, name=f"fc{i}") for i, w in enumerate(widths[:-1], start=1)]
    layers.append(keras.layers.Dense(widths[-1], name="output"))
    return lth_keras.wrap(keras.Sequential([keras.Input((inputs,)), *layers]))


@pytest.fixture(scope="module")
def zoo():
    return {name: build(name, (16, 16, 3), 10, seed=0) for name in ("resnet20", "vgg16")}


@pytest.mark.parametrize("name", ["resnet20", "vgg16"])
@pytest.mark.parametrize("density", [0.1, 0.05, 0.01])
def test_erk_hits_the_exact_global_count_with_no_layer_above_one(zoo, name, density):
    model = zoo[name]
    targets = prunable_weights(model)
    densities = distributions.get("erk")(model, density)
    counts = _counts(model, densities)
    assert sum(counts.values()) == round(density * sum(t.size for t in targets))
    assert all(0 < counts[t.path] <= t.size for t in targets)
    assert max(densities.values()) <= 1.0
    # Below the cap, density is proportional to ERK's raw score (within rounding).
    raw = {t.path: sum(t.kernel.shape) / np.prod(t.kernel.shape) for t in targets}
    free = [t for t in targets if densities[t.path] < 1.0]
    eps = [densities[t.path] / raw[t.path] for t in free]
    slack = max(1.0 / (t.size * raw[t.path]) for t in free)
    assert max(eps) - min(eps) <= 2 * slack + 1e-9


def test_erk_capping_loop_makes_the_first_vgg16_layer_dense(zoo):
    densities = distributions.get("erk")(zoo["vgg16"], 0.1)
    assert densities["block1_conv1/kernel"] == 1.0
    assert sum(d == 1.0 for d in densities.values()) < len(densities)


def test_layerwise_prune_with_a_distribution_keeps_exactly_the_global_count():
    model = build("resnet20", (8, 8, 3), 10, seed=0)
    densities = distributions.get("erk")(model, 0.05)
    masks = prune(model, density=densities, scope="layerwise", criterion=Random(0))
    total = sum(m.size for m in masks.values())
    assert sum(m.sum() for m in masks.values()) == round(0.05 * total)


def test_uniform_and_er():
    model = _mlp([7, 13, 3])  # kernels 70, 91, 39 = 200
    uniform = _counts(model, distributions.get("uniform")(model, 0.3))
    assert uniform == {"fc1/kernel": 21, "fc2/kernel": 27, "output/kernel": 12}  # 21+27.3+11.7
    er = distributions.get("er")(model, 0.3)
    raw = {"fc1/kernel": 17 / 70, "fc2/kernel": 20 / 91, "output/kernel": 16 / 39}
    assert sum(_counts(model, er).values()) == 60
    assert er["output/kernel"] > er["fc1/kernel"] > er["fc2/kernel"]
    assert er["output/kernel"] / er["fc2/kernel"] == pytest.approx(
        raw["output/kernel"] / raw["fc2/kernel"], rel=0.05)


def _smart_model():
    # Kernels: fc1 10x10 = 100, fc2 10x20 = 200, fc3 20x10 = 200, output 10x10 = 100.
    return _mlp([10, 20, 10, 10])


def test_smart_ratio_by_hand_with_clipping_and_redistribution():
    """L = 4, ratios (L-l+1)^2 + (L-l+1) = 20, 12, 6 for fc1..fc3; output fixed 0.3.

    Density 0.75 keeps 450 of 600; the output keeps 30, leaving 420 =
    k (100*20 + 200*12 + 200*6) = 5600 k, so k = 0.075 and the ratios are
    1.5, 0.9, 0.45. fc1 clips to 1 (excess 50 weights); fc2 takes 20 of them
    (to 1) and fc3 the other 30 (0.45 + 30/200 = 0.6).
    """
    model = _smart_model()
    densities = distributions.get("smart_ratio")(model, 0.75)
    assert densities == pytest.approx(
        {"fc1/kernel": 1.0, "fc2/kernel": 1.0, "fc3/kernel": 0.6, "output/kernel": 0.3})


def test_smart_ratio_without_clipping_and_the_vgg_variant():
    model = _smart_model()
    # Density 0.5: 270 = 5600 k -> k = 27/560; fc1..fc3 keep 96.43, 115.71, 57.86.
    counts = _counts(model, distributions.get("smart_ratio")(model, 0.5))
    assert counts == {"fc1/kernel": 96, "fc2/kernel": 116, "fc3/kernel": 58, "output/kernel": 30}
    # VGG: ratios / l^2 = 20, 3, 2/3 -> 100*20 + 200*3 + 200*2/3 = 8200/3; 0.25 keeps
    # 150, 120 free: k = 9/205 -> 87.80, 26.34, 5.85 -> rounded to sum 120: 88, 26, 6.
    counts = _counts(model, distributions.get("smart_ratio_vgg")(model, 0.25))
    assert counts == {"fc1/kernel": 88, "fc2/kernel": 26, "fc3/kernel": 6, "output/kernel": 30}


def test_smart_ratio_ablations_by_hand():
    model = _smart_model()
    # Ascending l^2 + l = 2, 6, 12; 420 = 3800 k; fc3 = 12 * 21/190 * 200 > 200 clips,
    # its excess 65.26 has no later free layer and goes back to fc1 (87.37).
    counts = _counts(model, distributions.get("smart_ratio_ascending")(model, 0.75))
    assert counts == {"fc1/kernel": 87, "fc2/kernel": 133, "fc3/kernel": 200, "output/kernel": 30}
    # Linear L-l+1 = 4, 3, 2 -> 400 + 600 + 400 = 1400; 0.5: k = 270/1400.
    counts = _counts(model, distributions.get("smart_ratio_linear")(model, 0.5))
    assert counts == {"fc1/kernel": 77, "fc2/kernel": 116, "fc3/kernel": 77, "output/kernel": 30}
    # Cubic (L-l+1)^3 = 64, 27, 8 -> 6400 + 5400 + 1600 = 13400; 0.5: k = 270/13400;
    # fc1 wants 128.96 of its 100 and passes 28.96 to fc2 (108.84 -> 137.80); fc3 32.24.
    counts = _counts(model, distributions.get("smart_ratio_cubic")(model, 0.5))
    assert counts == {"fc1/kernel": 100, "fc2/kernel": 138, "fc3/kernel": 32, "output/kernel": 30}
    # Uniform: the 270 free weights spread evenly over 500: 0.54 each.
    counts = _counts(model, distributions.get("smart_ratio_uniform")(model, 0.5))
    assert counts == {"fc1/kernel": 54, "fc2/kernel": 108, "fc3/kernel": 108, "output/kernel": 30}


def test_smart_ratio_scales_the_fixed_layers_when_they_alone_pass_the_target():
    # 0.04 keeps 24 < the output's 30: all four layers follow 20, 12, 6, 2 instead:
    # 24 = k (2000 + 2400 + 1200 + 200) -> 8.28, 9.93, 4.97, 0.83 -> 8, 10, 5, 1.
    counts = _counts(_smart_model(), distributions.get("smart_ratio")(_smart_model(), 0.04))
    assert counts == {"fc1/kernel": 8, "fc2/kernel": 10, "fc3/kernel": 5, "output/kernel": 1}


def test_explicit():
    model = _smart_model()
    densities = distributions.get("explicit")(model, layers={"fc1": 0.5, "dense": 0.25})
    assert densities == {"fc1/kernel": 0.5, "fc2/kernel": 0.25, "fc3/kernel": 0.25,
                         "output/kernel": 1.0}
    with pytest.raises(ValueError, match="layers"):
        distributions.get("explicit")(model, layers={"nope": 0.5})


def test_unknown_names_and_bad_densities():
    with pytest.raises(ValueError, match="distribution"):
        distributions.get("nope")
    with pytest.raises(ValueError, match="density"):
        distributions.get("erk")(_smart_model(), 1.5)
