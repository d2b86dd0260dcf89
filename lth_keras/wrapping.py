"""``wrap`` a Keras model into its masked twin, ``strip`` it back to plain Keras."""

import warnings

import keras

from lth_keras.layers.masked import MASKED_TWINS, MaskedLayer, masked_twin_class, plain_class
from lth_keras.pruning.targets import masked_layers


def _clone(model, clone_layer):
    """Clones a Sequential/Functional model (nested ones too), copying weights.

    ``clone_layer(layer)`` returns the new layer and a function that copies the
    old layer's weights into it once it is built.
    """
    copies = []

    def clone_function(layer):
        new, copy = clone_layer(layer)
        copies.append((layer, new, copy))
        return new

    try:
        clone = keras.models.clone_model(model, clone_function=clone_function, recursive=True)
    except ValueError as error:
        raise ValueError(
            f"model: expected a Sequential or Functional keras.Model ({error}). "
            "Build subclassed models from lth_keras.layers directly."
        ) from error
    for layer, new, copy in copies:
        copy(layer, new)
    return clone


def _copy_weights(layer, new):
    new.set_weights(layer.get_weights())


# Layers with weights that no masked twin stands in for yet: wrap leaves them
# dense and says so (RNN covers LSTM, GRU and SimpleRNN).
UNMASKED_KINDS = (keras.layers.EinsumDense, keras.layers.MultiHeadAttention, keras.layers.RNN,
                  keras.layers.Embedding, keras.layers.Conv1DTranspose,
                  keras.layers.Conv2DTranspose, keras.layers.Conv3DTranspose)


def _entries(value):
    """``include`` / ``exclude`` as a tuple: one name or type is one entry
    (a string is never a list of one-letter names)."""
    if value is None:
        return None
    return (value,) if isinstance(value, (str, type)) else tuple(value)


def _warn_unmasked(model, layers):
    """One warning naming the layers of UNMASKED_KINDS and their parameter share."""
    found = [l for l in layers if isinstance(l, UNMASKED_KINDS)]
    inner = {id(sub) for l in found for sub in l._flatten_layers(include_self=False)}
    found = [l for l in found if id(l) not in inner]  # MultiHeadAttention's EinsumDense
    if not found:
        return
    params = sum(l.count_params() for l in found if l.built)
    total = model.count_params() if model.built else 0
    share = f", {params / total:.1%} of its parameters," if total else ""
    names = ", ".join(f"'{l.name}' ({type(l).__name__})" for l in found)
    warnings.warn(f"wrap: layers {names} of model '{model.name}' are left dense{share} and are "
                  "never pruned: lth_keras has no masked twin for their kind yet.", stacklevel=4)


def _layer_selector(model, include, exclude, skip_first, skip_last):
    """The names of the layers to mask, after validating the policy."""
    layers = [l for l in model._flatten_layers(include_self=False, recursive=True)
              if not isinstance(l, keras.Model)]
    if any(isinstance(l, MaskedLayer) for l in layers):
        raise ValueError(f"model: '{model.name}' is already wrapped (it has masked layers); "
                         "wrap the plain model, or use it as it is.")
    include, exclude = _entries(include), _entries(exclude)
    _warn_unmasked(model, layers)
    by_name = {l.name: l for l in layers}
    supported = [l for l in layers if masked_twin_class(l) is not None]
    for argument, entries in (("include", include or ()), ("exclude", exclude)):
        for e in entries:
            if isinstance(e, str) and e not in by_name:
                raise ValueError(f"{argument}: no layer named '{e}' in model '{model.name}'.")
            if isinstance(e, type) and e not in MASKED_TWINS:
                raise ValueError(
                    f"{argument}: {e.__name__} is not a maskable layer type; expected one "
                    f"of {[c.__name__ for c in MASKED_TWINS]}."
                )

    def matches(layer, entries):
        return any(layer.name == e if isinstance(e, str) else type(layer) is e for e in entries)

    if include is not None:
        for e in include:
            if isinstance(e, str) and masked_twin_class(by_name[e]) is None:
                raise ValueError(
                    f"include: layer '{e}' ({type(by_name[e]).__name__}) is not supported; "
                    f"expected one of {[c.__name__ for c in MASKED_TWINS]}."
                )
        chosen = [l for l in supported if matches(l, include)]
    else:
        chosen = list(supported)
    chosen = [l for l in chosen if not matches(l, exclude)]
    if skip_first and supported:
        chosen = [l for l in chosen if l is not supported[0]]
    if skip_last and supported:
        chosen = [l for l in chosen if l is not supported[-1]]
    skipped = [
        l.name for l in layers
        if masked_twin_class(l) is None and isinstance(l, tuple(MASKED_TWINS)) and not isinstance(l, MaskedLayer)
    ]
    if skipped:
        warnings.warn(
            f"wrap: layers {skipped} subclass a maskable Keras layer but are not masked: "
            "their own call() could bypass a mask. Build them from lth_keras.layers."
        )
    return {l.name for l in chosen}


def wrap(model, include=None, exclude=(), skip_first=False, skip_last=False):
    """The masked twin of a Sequential or Functional model, nested models included.

    Weights are copied and every mask starts at 1, so the twin computes exactly
    what ``model`` computes. ``model`` itself is not changed.

    Args:
      model: a Sequential or Functional Keras model.
      include: layer names or layer types to mask (one name or type, or a list);
        default: every layer of a supported type (Dense, Conv1D/2D/3D,
        DepthwiseConv2D, SeparableConv2D). Layers of other kinds with weights
        (attention, recurrent, embedding, transposed convolutions) stay dense,
        named in one warning with their share of the parameters.
      exclude: layer names or types never to mask (one, or a list).
      skip_first: leave the first supported layer (the input layer) dense.
      skip_last: leave the last supported layer (the output layer) dense.

    Raises:
      ValueError: for a bad policy, or a model that is already wrapped.
    """
    chosen = _layer_selector(model, include, exclude, skip_first, skip_last)
    if not chosen:
        raise ValueError(f"model: '{model.name}' has no layer to mask under this policy.")

    def clone_layer(layer):
        cls = masked_twin_class(layer) if layer.name in chosen else type(layer)
        return cls.from_config(layer.get_config()), _copy_into_masked

    return _clone(model, clone_layer)


def _copy_into_masked(layer, new):
    if isinstance(new, MaskedLayer) and not isinstance(layer, MaskedLayer):
        masks = {id(m) for _, _, m in new.kernel_and_mask()}
        # The twin creates the plain layer's weights first, in the same order.
        for var, value in zip([v for v in new.weights if id(v) not in masks], layer.get_weights()):
            var.assign(value)
    else:
        _copy_weights(layer, new)


def strip(model):
    """A plain Keras model with every mask folded into its kernel.

    No lth_keras class is left, so the result loads and runs without lth_keras.
    """

    def clone_layer(layer):
        return plain_class(layer).from_config(layer.get_config()), copy_out_of_masked

    return _clone(model, clone_layer)


def copy_out_of_masked(layer, new):
    """Copies ``layer``'s weights into its plain twin ``new``, masks folded in."""
    if isinstance(layer, MaskedLayer):
        folded = {id(k): k.numpy() * m.numpy() for _, k, m in layer.kernel_and_mask()}
        masks = {id(m) for _, _, m in layer.kernel_and_mask()}
        values = [folded.get(id(v), v.numpy()) for v in layer.weights if id(v) not in masks]
        new.set_weights(values)
    else:
        _copy_weights(layer, new)


def is_wrapped(model):
    """True if the model has at least one masked layer."""
    return bool(masked_layers(model))
