"""The ``tfmot`` extra (tf_keras and TensorFlow Model Optimization): whether
this Python can import it, found without importing it, and how to install it.

Importing TFMOT would switch ``tf.keras`` to tf_keras in this process, so
the modules are only looked up; they are imported by ``tfmot_worker.py``
alone, in its own process.
"""

import importlib.util

import tensorflow as tf

EXTRA_MODULES = ("tf_keras", "tensorflow_model_optimization")
MISSING_EXTRA = 3  # the worker's exit status when it cannot import the extra
INSTALL = ("pip install -e '.[tfmot]' from the lth_keras checkout, or "
           f"pip install tf-keras=={tf.__version__} tensorflow-model-optimization "
           "(tf-keras must match TensorFlow's version)")


class MissingExtraError(ValueError):
    """tf_keras or TFMOT cannot be imported: the ``tfmot`` extra is missing."""


def missing_extra():
    """The modules of the ``tfmot`` extra this Python cannot import, found
    without importing them (importing TFMOT would switch ``tf.keras``)."""
    missing = []
    for name in EXTRA_MODULES:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(name)
    return missing


def require_extra():
    """Raises :class:`MissingExtraError`, saying how to install, if needed."""
    missing = missing_extra()
    if missing:
        raise MissingExtraError(
            f"the TFMOT baseline needs {' and '.join(missing)}, which this Python cannot "
            f"import. Install the tfmot extra: {INSTALL}."
        )
