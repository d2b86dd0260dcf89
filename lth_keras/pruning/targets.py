"""The prunable weights of a model: which kernels carry masks, and their kinds."""

import dataclasses
import math

import keras

from lth_keras.layers.masked import MaskedLayer

# Kinds used for per-kind pruning rates (Frankle & Carbin 2019 prune conv,
# fully-connected and output layers at different rates).
KINDS = ("conv", "dense", "output")


@dataclasses.dataclass(frozen=True)
class PrunableWeight:
    """One masked kernel: the unit that scores and masks refer to.

    ``path`` (``"<layer name>/<weight name>"``) is the key of every mask set.
    """

    layer: keras.layers.Layer
    name: str
    kernel: keras.Variable
    mask: keras.Variable
    kind: str

    @property
    def path(self):
        return f"{self.layer.name}/{self.name}"

    @property
    def size(self):
        return int(math.prod(self.kernel.shape))


def masked_layers(model):
    """Every masked layer of ``model``, nested models included, in build order."""
    # Keras tracks sublayers of Functional, Sequential and subclassed models
    # alike; a layer shared by two models is listed once.
    layers = model._flatten_layers(include_self=False, recursive=True)
    return [layer for layer in layers if isinstance(layer, MaskedLayer)]


def prunable_weights(model):
    """The model's masked kernels as :class:`PrunableWeight`, in build order.

    The last Dense kernel is of kind ``output``; other Dense kernels ``dense``;
    every convolution kernel (depthwise and pointwise included) ``conv``.

    Raises:
      ValueError: if ``model`` has no masked layer (wrap it first).
    """
    layers = masked_layers(model)
    targets = []
    for layer in layers:
        kind = "dense" if isinstance(layer, keras.layers.Dense) else "conv"
        for name, kernel, mask in layer.kernel_and_mask():
            targets.append(PrunableWeight(layer, name, kernel, mask, kind))
    if not targets:
        raise ValueError(
            f"model: '{model.name}' has nothing prunable (no masked layer). "
            "Expected a model from lth_keras.wrap(...), lth_keras.models.build(...) "
            "or one built from lth_keras.layers."
        )
    if targets[-1].kind == "dense":
        targets[-1] = dataclasses.replace(targets[-1], kind="output")
    return targets


def resolve(targets, value, argument):
    """Maps a scalar or a {layer name | kind | "default": value} dict to targets.

    Layer names win over kinds, kinds over ``"default"``; a target that nothing
    matches maps to None. Unknown keys are a ValueError naming ``argument``.
    """
    if not isinstance(value, dict):
        return {t.path: value for t in targets}
    layer_names = {t.layer.name for t in targets}
    paths = {t.path for t in targets}
    unknown = [k for k in value if k not in layer_names | paths | set(KINDS) | {"default"}]
    if unknown:
        raise ValueError(
            f"{argument}: unknown key(s) {unknown}. Expected names of masked "
            f"layers {sorted(layer_names)}, weight paths, kinds {list(KINDS)} or 'default'."
        )
    out = {}
    for t in targets:
        for key in (t.path, t.layer.name, t.kind, "default"):
            if key in value:
                out[t.path] = value[key]
                break
        else:
            out[t.path] = None
    return out
