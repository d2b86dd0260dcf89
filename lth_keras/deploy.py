"""Deployment figures of a ticket: TFLite export and gzip-compressed sizes.

Unstructured sparsity does not shrink a float32 file by itself: the zeros
are still stored. It shows once the file is compressed, which is how the
TensorFlow Model Optimization pruning guide reports a pruned model's size
(gzip of the file, beside the dense model's). These are the same figures for
any lth_keras ticket, after :func:`lth_keras.strip`.

    sizes = deploy.size_report(ticket, dense)   # dicts of byte counts
    deploy.export_tflite(ticket, "ticket.tflite")
"""

import contextlib
import gzip
import logging
import tempfile

import numpy as np
import tensorflow as tf
from absl import logging as absl_logging

from lth_keras.runs.files import write_bytes
from lth_keras.wrapping import is_wrapped, strip


def plain(model):
    """``model`` without masks: :func:`lth_keras.strip` of it if it has any."""
    return strip(model) if is_wrapped(model) else model


def to_tflite(model):
    """The float32 TFLite flatbuffer (bytes) of a Keras 3 model, batch size free.

    Masked models are stripped first. The model is exported as a SavedModel
    (Keras 3's ``model.export``) to a temporary directory and converted from
    there: a bare concrete function would leave Keras 3 variables unfrozen.
    """
    model = plain(model)
    with _quiet(), tempfile.TemporaryDirectory(prefix="lth_keras_tflite_") as saved:
        model.export(saved, format="tf_saved_model", verbose=False)
        return tf.lite.TFLiteConverter.from_saved_model(saved).convert()


@contextlib.contextmanager
def _quiet():
    # SavedModel writing logs every asset and signature at INFO level.
    logger, verbosity = tf.get_logger(), absl_logging.get_verbosity()
    level = logger.level
    logger.setLevel(logging.ERROR)
    absl_logging.set_verbosity(absl_logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)
        absl_logging.set_verbosity(verbosity)


def export_tflite(model, path):
    """Writes :func:`to_tflite` of ``model`` to ``path``; returns ``path``."""
    flatbuffer = to_tflite(model)
    write_bytes(path, flatbuffer)  # a fresh temporary file, then an atomic rename
    return path


def weights_bytes(model):
    """Every weight of the (stripped) model as raw float32 bytes, in order.

    No file-format overhead, so its gzip size measures the values alone.
    """
    return b"".join(np.ascontiguousarray(w, np.float32).tobytes()
                    for w in plain(model).get_weights())


def gzip_size(data):
    """Bytes of ``data`` after gzip at its default level 6, as the ``gzip``
    command compresses (level 9 is ten times slower on sparse weights for ~2%)."""
    return len(gzip.compress(data, compresslevel=6, mtime=0))


def compressed_sizes(model):
    """``tflite_bytes``, ``tflite_gzip_bytes``, ``weights_bytes`` and
    ``weights_gzip_bytes`` of a ticket (stripped first if masked)."""
    model = plain(model)
    flatbuffer, weights = to_tflite(model), weights_bytes(model)
    return {
        "tflite_bytes": len(flatbuffer),
        "tflite_gzip_bytes": gzip_size(flatbuffer),
        "weights_bytes": len(weights),
        "weights_gzip_bytes": gzip_size(weights),
    }


def beside(sizes, dense_sizes):
    """Two :func:`compressed_sizes` dicts as one: the ticket's, the dense
    model's prefixed ``dense_``, and ``gzip_size_reduction`` (dense over
    ticket, gzip-compressed .tflite)."""
    return {
        **sizes,
        **{f"dense_{k}": v for k, v in dense_sizes.items()},
        "gzip_size_reduction": dense_sizes["tflite_gzip_bytes"] / sizes["tflite_gzip_bytes"],
    }


def size_report(ticket, dense):
    """:func:`compressed_sizes` of ``ticket`` beside those of ``dense``, the
    unpruned network it was found in (see :func:`beside`)."""
    return beside(compressed_sizes(ticket), compressed_sizes(dense))
