"""Mask sets: reading, writing, comparing and perturbing a model's masks.

A mask set is a dict ``{"<layer name>/<weight name>": 0/1 np.ndarray}``, the
paths of :func:`lth_keras.pruning.targets.prunable_weights`. Whenever a mask is
written, the kernel under it is zeroed, so the stored weights are truly sparse.
"""

import hashlib

import keras
import numpy as np

from lth_keras.layers.masked import apply_mask
from lth_keras.pruning.targets import prunable_weights


def get_masks(model):
    """The model's mask set (copies, as float32 0/1 arrays)."""
    return {t.path: t.mask.numpy().astype(np.float32) for t in prunable_weights(model)}


def set_masks(model, masks, strict=True):
    """Writes a mask set into the model and zeroes the kernels under it.

    Everything is validated before anything is written, so on error the model
    is unchanged.

    Args:
      model: a masked model.
      masks: ``{path: array}``; 0/1 (or boolean) arrays of the kernels' shapes.
      strict: if True, ``masks`` must name every prunable weight of the model.
    """
    targets = {t.path: t for t in prunable_weights(model)}
    unknown = sorted(set(masks) - set(targets))
    if unknown:
        raise ValueError(
            f"masks: unknown weight path(s) {unknown}. Expected paths among "
            f"{sorted(targets)}."
        )
    missing = sorted(set(targets) - set(masks))
    if strict and missing:
        raise ValueError(f"masks: no mask given for {missing} (pass strict=False to keep them).")
    values = {}
    for path, mask in masks.items():
        mask = np.asarray(mask)
        shape = tuple(targets[path].kernel.shape)
        if mask.shape != shape:
            raise ValueError(
                f"masks['{path}']: shape {mask.shape} does not match the kernel's {shape}."
            )
        if not np.isin(mask, (0, 1)).all():
            raise ValueError(f"masks['{path}']: expected only 0 and 1 values.")
        values[path] = mask.astype(bool)
    for path, mask in values.items():
        t = targets[path]
        t.mask.assign(mask)
        t.kernel.assign(apply_mask(t.kernel, mask))


def apply_masks(model):
    """Zeroes every kernel entry under a zero mask (after writing kernels)."""
    for t in prunable_weights(model):
        t.kernel.assign(apply_mask(t.kernel, t.mask))


def save_masks(masks, path):
    """Saves a mask set to a compressed ``.npz`` file, as booleans."""
    np.savez_compressed(path, **{k: np.asarray(v).astype(bool) for k, v in masks.items()})


def load_masks(path):
    """Loads a mask set saved by :func:`save_masks`."""
    with np.load(path) as f:
        return {k: f[k].astype(np.float32) for k in f.files}


def masks_digest(masks):
    """A SHA-256 of a mask set, to check that two processes hold the same masks."""
    digest = hashlib.sha256()
    for path in sorted(masks):
        digest.update(path.encode())
        digest.update(np.packbits(np.asarray(masks[path]) > 0).tobytes())
    return digest.hexdigest()


def _as_masks(model_or_masks):
    return model_or_masks if isinstance(model_or_masks, dict) else get_masks(model_or_masks)


def layer_densities(model_or_masks):
    """``{path: fraction of the kernel kept}``."""
    return {k: float(np.mean(m)) for k, m in _as_masks(model_or_masks).items()}


def density(model_or_masks):
    """Fraction of all prunable weights kept."""
    masks = _as_masks(model_or_masks).values()
    return float(sum(np.sum(m) for m in masks) / sum(np.size(m) for m in masks))


def jaccard(masks_a, masks_b):
    """Jaccard overlap |A and B| / |A or B| of the kept weights of two mask sets."""
    if set(masks_a) != set(masks_b):
        raise ValueError(
            f"masks_b: weight paths {sorted(masks_b)} differ from masks_a's {sorted(masks_a)}."
        )
    inter = sum(np.sum((masks_a[k] > 0) & (masks_b[k] > 0)) for k in masks_a)
    union = sum(np.sum((masks_a[k] > 0) | (masks_b[k] > 0)) for k in masks_a)
    return float(inter / union) if union else 1.0


def shuffle_masks(masks, seed):
    """Permutes each layer's mask independently ("layerwise rearrange").

    Keeps every layer's density and destroys the pattern within it: the
    control of Frankle & Carbin 2019 and the sanity check of Su et al. 2020.
    """
    rng = np.random.default_rng(seed)
    return {k: rng.permutation(m.ravel()).reshape(m.shape) for k, m in masks.items()}


def shuffle_weights(model, seed):
    """Permutes the kept weights' values among the kept positions of each layer.

    Keeps the mask and each layer's multiset of weights (Su et al. 2020).
    """
    rng = np.random.default_rng(seed)
    for t in prunable_weights(model):
        kernel, keep = t.kernel.numpy(), t.mask.numpy() > 0
        kernel[keep] = rng.permutation(kernel[keep])
        t.kernel.assign(kernel)


# The initializer attributes that Keras layers keep for each weight name
# (DepthwiseConv2D keeps its "kernel"'s as depthwise_initializer).
_INITIALIZER_OF = {
    "kernel": ("kernel_initializer", "depthwise_initializer"),
    "bias": ("bias_initializer",),
    "depthwise_kernel": ("depthwise_initializer",),
    "pointwise_kernel": ("pointwise_initializer",),
    "gamma": ("gamma_initializer",),
    "beta": ("beta_initializer",),
    "moving_mean": ("moving_mean_initializer",),
    "moving_variance": ("moving_variance_initializer",),
}


def reinitialize(model, seed):
    """Draws fresh initial values for every weight, keeping the masks.

    The random-reinitialisation control of Frankle & Carbin 2019: each weight
    is redrawn from its layer's own initializer with a seed derived from
    ``seed``, so the same seed gives the same new network.
    """
    for i, layer in enumerate(model._flatten_layers(include_self=False, recursive=True)):
        for j, var in enumerate(layer.weights):
            attrs = [a for a in _INITIALIZER_OF.get(var.name, ()) if hasattr(layer, a)]
            if not attrs:
                continue
            init = keras.initializers.get(getattr(layer, attrs[0]))
            config = init.get_config()
            if "seed" in config:
                init = init.__class__.from_config({**config, "seed": int(seed) * 100003 + i * 101 + j})
            var.assign(init(var.shape, dtype=var.dtype))
    apply_masks(model)
