"""Layerwise density distributions: how many weights each layer keeps.

A distribution maps a model and a global density to ``{path: density}`` over
``prunable_weights(model)``, to be handed to
``prune(model, density=..., scope="layerwise", criterion=...)``: the
distribution decides how many weights each layer keeps, the criterion which.

Every distribution keeps exactly ``round(density * N)`` weights in all (N the
prunable weights, the count a global prune keeps): its real-valued per-layer
counts are rounded by largest remainder (ties to the earlier layer), each
layer keeping at least one weight and at most all of its own.
"""

import functools
import math

import numpy as np

from lth_keras.pruning.targets import prunable_weights, resolve
from lth_keras.registry import Registry

DISTRIBUTIONS = Registry("distribution")


def register(name, **options):
    """Makes ``fn(model, density, **options)`` available as distribution ``name``."""
    return DISTRIBUTIONS.register(name, lambda fn: functools.partial(fn, **options) if options else fn)


def get(name):
    return DISTRIBUTIONS.get(name)


def layer_densities(model, name, density, **options):
    """``{path: density}`` of distribution ``name`` at global ``density``."""
    return get(name)(model, density, **options)


def _check_density(density):
    if isinstance(density, bool) or not isinstance(density, (int, float)) or not 0.0 < density <= 1.0:
        raise ValueError(f"density: expected a fraction in (0, 1], got {density!r}.")


def _exact(targets, counts, density):
    """Rounds real-valued keep counts to integers that sum to round(density * N)."""
    sizes = np.array([t.size for t in targets])
    total = int(round(density * sizes.sum()))
    if total < len(targets):
        raise ValueError(
            f"density: {density} keeps {total} weights, fewer than one per layer "
            f"({len(targets)} layers).")
    counts = np.clip(np.asarray(counts, dtype=float), 1.0, sizes)
    keep = np.clip(np.floor(counts), 1, sizes).astype(np.int64)
    remainder = counts - np.floor(counts)
    while keep.sum() != total:
        short = total - int(keep.sum())
        # Largest remainders first; a stable sort breaks ties by layer order.
        if short > 0:
            order = [i for i in np.argsort(-remainder, kind="stable") if keep[i] < sizes[i]]
        else:
            order = [i for i in np.argsort(remainder, kind="stable") if keep[i] > 1]
        if not order:
            raise ValueError(f"density: cannot keep {total} weights with 1..n per layer.")
        step = 1 if short > 0 else -1
        for i in order[: abs(short)]:
            keep[i] += step
    return {t.path: float(k / t.size) for t, k in zip(targets, keep)}


@register("uniform")
def uniform(model, density):
    """Every layer keeps ``density`` of its weights."""
    _check_density(density)
    targets = prunable_weights(model)
    return _exact(targets, [density * t.size for t in targets], density)


def _dense_capped(targets, density, raw):
    """density_l = eps * raw_l with eps solved for the global count; a layer
    that would pass 1 is made dense and eps solved again (Evci et al. 2020)."""
    sizes = np.array([t.size for t in targets], dtype=float)
    raw = np.asarray(raw, dtype=float)
    dense = np.zeros(len(targets), dtype=bool)
    while True:
        free = ~dense
        if not free.any():
            return np.ones(len(targets))
        eps = (density * sizes.sum() - sizes[dense].sum()) / (raw[free] * sizes[free]).sum()
        highest = raw[free].max()
        if eps * highest <= 1.0:
            return np.where(dense, 1.0, eps * raw)
        # The layers of the highest raw density go dense first, as in RigL's code.
        dense |= free & (raw == highest)


@register("er")
def erdos_renyi(model, density):
    """Erdos-Renyi (Mocanu et al. 2018): density_l ~ (n_in + n_out) / (n_in * n_out).

    n_in, n_out are a kernel's last two dimensions (channels for convolutions).
    """
    _check_density(density)
    targets = prunable_weights(model)
    raw = [(t.kernel.shape[-2] + t.kernel.shape[-1]) / (t.kernel.shape[-2] * t.kernel.shape[-1])
           for t in targets]
    densities = _dense_capped(targets, density, raw)
    return _exact(targets, densities * [t.size for t in targets], density)


@register("erk")
def erdos_renyi_kernel(model, density, power=1.0):
    """ERK (Evci et al. 2020): density_l ~ (sum of kernel dims / product of them)**power."""
    _check_density(density)
    targets = prunable_weights(model)
    raw = [(sum(t.kernel.shape) / math.prod(t.kernel.shape)) ** power for t in targets]
    densities = _dense_capped(targets, density, raw)
    return _exact(targets, densities * [t.size for t in targets], density)


SMART_RATIO_SHAPES = {
    # l = 1..L numbers the layers from the input (Su et al. 2020, Section 5 and ablations).
    "quadratic": lambda l, L: (L - l + 1) ** 2 + (L - l + 1),
    "linear": lambda l, L: L - l + 1,
    "cubic": lambda l, L: (L - l + 1) ** 3,
    "ascending": lambda l, L: l ** 2 + l,
    "uniform": lambda l, L: 1,
}
# Su et al.'s networks have one linear layer, the classifier, which keeps 0.3.
SMART_RATIO_FIXED = {"output": 0.3}


@register("smart_ratio")
@register("smart_ratio_vgg", vgg=True)
@register("smart_ratio_linear", shape="linear")
@register("smart_ratio_cubic", shape="cubic")
@register("smart_ratio_ascending", shape="ascending")
@register("smart_ratio_uniform", shape="uniform")
def smart_ratio(model, density, shape="quadratic", vgg=False, fixed=None):
    """Smart ratio, the keep ratios of random tickets (Su et al. 2020).

    Layer l of L (all prunable layers, numbered from the input) keeps a ratio
    proportional to (L-l+1)^2 + (L-l+1) (``shape``; ablations ``linear``,
    ``cubic``, ``ascending`` l^2 + l, ``uniform``), divided by l^2 when
    ``vgg`` (their public code does so for VGG only), scaled so the kept count
    hits ``density``. Layers matched by ``fixed`` (names, paths or kinds ->
    ratio; default: the output layer keeps 0.3, their linear-layer ratio)
    keep their fixed ratio, unless those alone would pass the target (then
    they are scaled like the other layers). A ratio above 1 is clipped to 1
    and the excess count poured, in network order, into the following layers
    up to density 1 (then into earlier ones, if any is left), as in their code.
    """
    _check_density(density)
    if shape not in SMART_RATIO_SHAPES:
        raise ValueError(f"shape: expected one of {sorted(SMART_RATIO_SHAPES)}, got {shape!r}.")
    targets = prunable_weights(model)
    fixed = resolve(targets, SMART_RATIO_FIXED if fixed is None else fixed, "fixed")
    for path, ratio in fixed.items():
        if ratio is not None and not 0.0 <= ratio <= 1.0:
            raise ValueError(f"fixed: ratio of '{path}' must be in [0, 1], got {ratio!r}.")
    sizes = np.array([t.size for t in targets], dtype=float)
    L = len(targets)
    free = np.array([fixed[t.path] is None for t in targets])
    shaped = np.array([
        SMART_RATIO_SHAPES[shape](l, L) / (l ** 2 if vgg and shape != "uniform" else 1)
        for l in range(1, L + 1)], dtype=float)
    ratios = np.where(free, shaped, [fixed[t.path] or 0.0 for t in targets])

    budget = density * sizes.sum() - (ratios[~free] * sizes[~free]).sum()
    if budget < free.sum() and free.any():
        # The fixed layers alone would pass the target: scale them like the others.
        free, ratios, budget = np.ones(L, dtype=bool), shaped, density * sizes.sum()
    if not free.any():
        raise ValueError("fixed: every layer has a fixed ratio; nothing is left to scale.")
    ratios[free] *= budget / (ratios[free] * sizes[free]).sum()
    ratios = _clip_and_pour(ratios, sizes, free)
    return _exact(targets, ratios * sizes, density)


def _clip_and_pour(ratios, sizes, free):
    """Clips free ratios to 1, pouring the excess count into later layers, then earlier."""
    ratios = ratios.copy()
    excess = 0.0
    for i in np.flatnonzero(free):
        if ratios[i] > 1.0:
            excess += (ratios[i] - 1.0) * sizes[i]
            ratios[i] = 1.0
        elif excess > 0:
            take = min((1.0 - ratios[i]) * sizes[i], excess)
            ratios[i] += take / sizes[i]
            excess -= take
    for i in np.flatnonzero(free):
        if excess <= 0:
            break
        take = min((1.0 - ratios[i]) * sizes[i], excess)
        ratios[i] += take / sizes[i]
        excess -= take
    if excess > 1e-6 * sizes.sum():
        raise ValueError("density: too high to reach with the fixed ratios; every free layer is dense.")
    return ratios


@register("explicit")
def explicit(model, density=None, layers=None):
    """Given densities: ``layers`` maps layer names, paths, kinds or "default"
    to densities; layers nothing matches stay dense. ``density`` is unused."""
    if not layers:
        raise ValueError("layers: the explicit distribution needs {layer name | path | kind: density}.")
    targets = prunable_weights(model)
    values = resolve(targets, layers, "layers")
    for path, value in values.items():
        if value is not None and (isinstance(value, bool) or not 0.0 <= value <= 1.0):
            raise ValueError(f"layers: density of '{path}' must be in [0, 1], got {value!r}.")
    return {path: 1.0 if value is None else float(value) for path, value in values.items()}
