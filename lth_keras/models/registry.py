"""The model zoo by name: ``build("resnet20", (32, 32, 3), 10, seed=0)``."""

from lth_keras.registry import Registry

# Name -> builder ``fn(input_shape, num_classes, *, seed=None, **options)``.
MODELS = Registry("model")


def register(name):
    """Decorator adding a builder to the zoo under ``name``.

    A builder takes ``(input_shape, num_classes, *, seed=None, **options)`` and
    returns a functional ``keras.Model`` that outputs logits.
    """
    return MODELS.register(name)


def build(name, input_shape, num_classes, *, seed=None, **options):
    """Builds the zoo model ``name`` for ``input_shape`` and ``num_classes``.

    Every model outputs logits (no softmax): train and evaluate with
    ``from_logits=True`` losses, e.g.
    ``keras.losses.SparseCategoricalCrossentropy(from_logits=True)``.
    The same ``seed`` gives identical initial weights. ``options`` go to the
    builder, e.g. ``initializer="he_normal"`` or, for ResNets,
    ``shortcut="zero_pad"``.
    """
    if name not in MODELS:
        raise ValueError(
            f"Unknown model `name` {name!r}; accepted names: {', '.join(sorted(MODELS))}"
        )
    return MODELS[name](tuple(input_shape), int(num_classes), seed=seed, **options)
