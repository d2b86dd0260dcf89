import keras
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import lth_keras
from lth_keras.pruning import top_k_mask
from helpers import lenet, small_cnn


def _mlp(widths):
    layers = [keras.Input((widths[0],))]
    layers += [keras.layers.Dense(w, name=f"d{i}") for i, w in enumerate(widths[1:])]
    return lth_keras.wrap(keras.Sequential(layers))


def _zeros(model):
    return sum(int(np.sum(t.mask.numpy() == 0)) for t in lth_keras.prunable_weights(model))


@settings(max_examples=25, deadline=None)
@given(
    widths=st.lists(st.integers(1, 12), min_size=2, max_size=4),
    amount=st.floats(0.0, 1.0),
    scope=st.sampled_from(["global", "layerwise"]),
)
def test_exactly_the_requested_number_is_pruned(widths, amount, scope):
    keras.backend.clear_session()
    model = _mlp(widths)
    targets = lth_keras.prunable_weights(model)
    sizes = [t.size for t in targets]
    magnitudes = [np.abs(t.kernel.numpy()) for t in targets]
    lth_keras.prune(model, amount, scope=scope)
    kept = np.concatenate([w[t.mask.numpy() > 0] for w, t in zip(magnitudes, targets)])
    pruned = np.concatenate([w[t.mask.numpy() == 0] for w, t in zip(magnitudes, targets)])
    if scope == "global" and kept.size and pruned.size:
        assert pruned.max() <= kept.min()
    if scope == "global":
        expected = int(round(amount * sum(sizes)))
    else:
        expected = sum(int(round(amount * n)) for n in sizes)
    assert _zeros(model) == expected
    # A second round counts among the remaining weights only.
    remaining = [int(t.mask.numpy().sum()) for t in targets]
    before = _zeros(model)
    lth_keras.prune(model, 0.5, scope=scope)
    if scope == "global":
        assert _zeros(model) - before == int(round(0.5 * sum(remaining)))
    else:
        assert _zeros(model) - before == sum(int(round(0.5 * r)) for r in remaining)
    for t in targets:  # kernels truly zero under the mask
        assert np.all(t.kernel.numpy()[t.mask.numpy() == 0] == 0)


def test_global_pruning_removes_the_smallest_magnitudes():
    model = _mlp([20, 30, 10])
    before = {t.path: np.abs(t.kernel.numpy()) for t in lth_keras.prunable_weights(model)}
    lth_keras.prune(model, 0.6)
    kept, pruned = [], []
    for t in lth_keras.prunable_weights(model):
        m = t.mask.numpy() > 0
        kept.append(before[t.path][m])
        pruned.append(before[t.path][~m])
    assert np.concatenate(pruned).max() <= np.concatenate(kept).min()


def test_ties_are_broken_deterministically_by_position():
    scores = np.ones(10, dtype=np.float32)
    keep = top_k_mask(scores, 4)
    assert keep.tolist() == [True] * 4 + [False] * 6
    scores = np.array([3, 1, 2, 2, 2, np.nan, 5], dtype=np.float32)
    assert top_k_mask(scores, 3).tolist() == [True, False, True, False, False, False, True]


def test_per_kind_rates_and_density_targets():
    model = lth_keras.wrap(lenet())
    lth_keras.prune(model, {"dense": 0.2, "output": 0.1}, scope="layerwise")
    d = lth_keras.layer_densities(model)
    assert d["fc1/kernel"] == pytest.approx(0.8) and d["fc2/kernel"] == pytest.approx(0.8)
    assert d["output/kernel"] == pytest.approx(0.9)
    lth_keras.prune(model, density={"fc1": 0.1, "default": 0.5}, scope="layerwise")
    d = lth_keras.layer_densities(model)
    assert d["fc1/kernel"] == pytest.approx(0.1) and d["fc2/kernel"] == pytest.approx(0.5)


def test_global_scope_pools_layers_that_share_a_rate():
    model = lth_keras.wrap(lenet())
    lth_keras.prune(model, {"default": 0.2, "output": 0.1})
    targets = lth_keras.prunable_weights(model)
    hidden = [t for t in targets if t.kind != "output"]
    pruned = sum(int((t.mask.numpy() == 0).sum()) for t in hidden)
    assert pruned == round(0.2 * sum(t.size for t in hidden))
    assert lth_keras.layer_densities(model)["output/kernel"] == pytest.approx(0.9)


def test_random_pruning_with_given_ratios_and_exclusion():
    model = lth_keras.wrap(small_cnn())
    ratios = {"conv1": 0.5, "fc": 0.25, "default": 0.3}
    lth_keras.prune(model, density=ratios, criterion=lth_keras.pruning.Random(seed=3),
                    scope="layerwise", exclude=["output"])
    d = lth_keras.layer_densities(model)
    assert d["conv1/kernel"] == pytest.approx(0.5, abs=1e-2)
    assert d["fc/kernel"] == pytest.approx(0.25, abs=1e-2)
    assert d["output/kernel"] == 1.0
    assert d["sep/depthwise_kernel"] == pytest.approx(0.3, abs=0.02)


class _Reversed(lth_keras.Criterion):
    """Keeps the smallest weights: shows a user criterion plugs in unchanged."""

    def scores(self, model, targets):
        return {t.path: -np.abs(t.kernel.numpy()) for t in targets}


def test_a_custom_criterion_plugs_in():
    model = _mlp([10, 10])
    w = np.abs(lth_keras.prunable_weights(model)[0].kernel.numpy())
    lth_keras.prune(model, 0.5, criterion=_Reversed())
    m = lth_keras.prunable_weights(model)[0].mask.numpy() > 0
    assert w[m].max() <= w[~m].min()


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        (dict(amount=1.5), "amount"),
        (dict(amount=-0.1), "amount"),
        (dict(density=2.0), "density"),
        (dict(amount={"fc1": 1.2}), "amount"),
        (dict(amount={"nope": 0.2}), "amount"),
        (dict(amount=0.2, scope="local"), "scope"),
        (dict(amount=0.2, density=0.5), "amount, density"),
        (dict(), "amount, density"),
        (dict(amount=0.2, exclude=["nope"]), "exclude"),
        (dict(amount=0.2, criterion="nope"), "criterion"),
    ],
)
def test_bad_arguments_name_themselves_and_leave_the_model_unchanged(kwargs, argument):
    model = lth_keras.wrap(lenet())
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(ValueError, match=argument):
        lth_keras.prune(model, **kwargs)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_density_cannot_regrow():
    model = lth_keras.wrap(lenet())
    lth_keras.prune(model, density=0.2)
    with pytest.raises(ValueError, match="density"):
        lth_keras.prune(model, density=0.5)


def test_model_with_nothing_prunable():
    with pytest.raises(ValueError, match="nothing prunable"):
        lth_keras.prune(lenet(), 0.5)
