"""TFLite export and gzip-compressed sizes of tickets."""

import warnings

import numpy as np
import tensorflow as tf

import lth_keras
from lth_keras import deploy, models


def _interpret(path, x):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tf.lite.Interpreter's LiteRT migration notice
        interpreter = tf.lite.Interpreter(model_path=str(path))
    given, output = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    interpreter.resize_tensor_input(given["index"], x.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(given["index"], x)
    interpreter.invoke()
    return interpreter.get_tensor(output["index"])


def test_tflite_of_pruned_lenet_computes_the_keras_model(tmp_path):
    model = models.build("lenet300_100", (28, 28, 1), 10, seed=1)
    lth_keras.prune(model, density=0.1)
    ticket = lth_keras.strip(model)
    path = deploy.export_tflite(ticket, str(tmp_path / "ticket.tflite"))
    x = np.random.default_rng(0).random((5, 28, 28, 1), dtype=np.float32)
    expected = np.asarray(ticket(x, training=False))
    np.testing.assert_allclose(_interpret(path, x), expected, atol=1e-5, rtol=0)
    # A masked model is stripped on the way: the same flatbuffer function.
    np.testing.assert_allclose(np.asarray(model(x)), expected, atol=1e-5, rtol=0)
    assert (tmp_path / "ticket.tflite").stat().st_size == len(deploy.to_tflite(model))


def test_gzip_size_of_a_90_percent_sparse_model_is_far_below_the_dense_one():
    dense = models.build("lenet300_100", (28, 28, 1), 10, seed=0)
    ticket = models.build("lenet300_100", (28, 28, 1), 10, seed=0)
    lth_keras.prune(ticket, density=0.1)
    sizes = deploy.size_report(ticket, dense)
    # Uncompressed, zeros take as much room as any float.
    assert sizes["tflite_bytes"] >= 0.99 * sizes["dense_tflite_bytes"]
    assert sizes["weights_bytes"] == sizes["dense_weights_bytes"] == 4 * 266_610
    # Compressed, a 90%-sparse network needs well under a third of the dense bytes.
    assert sizes["tflite_gzip_bytes"] < 0.3 * sizes["dense_tflite_gzip_bytes"]
    assert sizes["weights_gzip_bytes"] < 0.3 * sizes["dense_weights_gzip_bytes"]
    assert sizes["dense_weights_gzip_bytes"] > 0.85 * sizes["dense_weights_bytes"]
    assert sizes["gzip_size_reduction"] == (sizes["dense_tflite_gzip_bytes"]
                                            / sizes["tflite_gzip_bytes"])

