"""The bridge between a Keras 3 zoo model and its tf_keras twin in the TFMOT
worker process: the architecture as plain layer specs, weights by layer, the
Trainer's batch order, TFMOT's pruning steps, and running the worker.

Nothing here imports tf_keras or TFMOT: they live only in ``tfmot_worker.py``.
"""

import os
import subprocess
import sys

import keras
import numpy as np

from lth_keras.baselines.tfmot_extra import INSTALL, MISSING_EXTRA, MissingExtraError
from lth_keras.data.dataset import Dataset
from lth_keras.data.normalization import IDENTITY
from lth_keras.data.splits import Splits
from lth_keras.runs.files import replacing

SCHEDULES = ("constant", "polynomial")  # TFMOT's ConstantSparsity and PolynomialDecay
WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tfmot_worker.py")

# Layer class -> the config keys its tf_keras twin takes (the rest is default).
TWIN_LAYERS = {
    "Flatten": (),
    "Dense": ("units", "activation", "use_bias"),
    "Conv2D": ("filters", "kernel_size", "strides", "padding", "dilation_rate",
               "activation", "use_bias"),
    "MaxPooling2D": ("pool_size", "strides", "padding"),
    "AveragePooling2D": ("pool_size", "strides", "padding"),
    "GlobalAveragePooling2D": (),
    "BatchNormalization": ("axis", "momentum", "epsilon", "center", "scale"),
    "ReLU": ("max_value", "negative_slope", "threshold"),
    "Activation": ("activation",),
}


def pruning_steps(config, iterations):
    """TFMOT's ``begin_step`` and ``end_step``, and ``final_step``: the first
    iteration at which the target sparsity is in force.

    TFMOT counts steps from 1 and updates masks when ``(step - begin_step)``
    is a multiple of ``frequency``, so ``end_step`` is rounded to such a turn:
    PolynomialDecay reaches its final sparsity only on one.
    """
    f = config.pruning_frequency
    begin = int(round(config.pruning_begin * iterations))
    first_turn = begin if begin > 0 else f
    turns = int(round((config.pruning_end * iterations - begin) / f))
    turns = min(max(turns, 1), (iterations - begin) // f)
    if first_turn > iterations or turns < 1:
        raise ValueError(
            f"--pruning_frequency: {f} leaves no pruning turn between iteration {begin} and "
            f"the end of training ({iterations}); lower it or --pruning_begin.")
    end = begin + turns * f
    return begin, end, {"constant": first_turn, "polynomial": end}


def twin_spec(model):
    """The plain layer specs of a stripped Keras 3 chain model (input, then
    each layer feeding the next) from which the worker builds its tf_keras twin."""
    specs, previous = [], model.inputs[0]
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if layer.input is not previous:
            raise ValueError(f"--model: '{model.name}' is not a chain of layers (at "
                             f"'{layer.name}'); the TFMOT baseline takes chain models such as "
                             "lenet300_100, conv2/4/6 and vgg11/16/19.")
        cls = type(layer).__name__
        if cls not in TWIN_LAYERS or type(layer) is not getattr(keras.layers, cls):
            raise ValueError(f"--model: layer '{layer.name}' ({cls}) of '{model.name}' has no "
                             f"tf_keras twin; supported layers: {sorted(TWIN_LAYERS)}.")
        config = layer.get_config()
        specs.append({"class": cls, "name": layer.name,
                      "config": {k: config[k] for k in TWIN_LAYERS[cls]}})
        previous = layer.output
    return {"name": model.name, "input_shape": list(model.inputs[0].shape[1:]), "layers": specs}


def training_order(data, batch_size, seed, iterations):
    """``(order, batch_ends)``: the example indices of the first ``iterations``
    batches of ``data.train(batch_size, seed)``, flat, and where each batch ends.

    Read from the pipeline itself, serving each example's index in place of
    its image, so the worker sees exactly the batches the Trainer would.
    """
    _, labels = data.arrays("train")
    if len(labels) >= 2 ** 24:
        raise ValueError(f"data: {len(labels)} examples is too many to serve as float32 indices.")
    served = (np.arange(len(labels), dtype=np.float32)[:, None], labels)
    indices = Dataset("order", Splits(served, served, served, data.num_classes, IDENTITY))
    order, ends = [], []
    for x, y in indices.train(batch_size, seed).take(iterations):
        batch = np.rint(x.numpy()[:, 0]).astype(np.int32)
        if not np.array_equal(labels[batch], y.numpy()):
            raise RuntimeError("training_order: served indices do not match their labels.")
        order.append(batch)
        ends.append(len(batch) + (ends[-1] if ends else 0))
    return np.concatenate(order), np.asarray(ends, np.int64)


def weights_by_layer(model):
    """``{"<layer>/<i>": array}`` of every layer with weights."""
    return {f"{l.name}/{i}": w for l in model.layers for i, w in enumerate(l.get_weights())}


def load_by_layer(model, arrays):
    for layer in model.layers:
        if layer.weights:
            layer.set_weights([arrays[f"{layer.name}/{i}"] for i in range(len(layer.weights))])


def save_npz(path, arrays):
    """Named arrays to ``path``, atomically (the worker reads them by name)."""
    with replacing(path) as tmp:
        np.savez(tmp, **arrays)


def run_worker(jobs, log_path):
    """Runs the worker on the job files ``jobs``, its stderr appended to
    ``log_path``; returns None, or what went wrong."""
    # Only the child gets TF_USE_LEGACY_KERAS; this process's tf.keras stays Keras 3.
    env = {**os.environ, "TF_USE_LEGACY_KERAS": "1"}
    with open(log_path, "a") as log:
        code = subprocess.call([sys.executable, WORKER, *jobs], env=env, stderr=log)
    if code == MISSING_EXTRA:
        raise MissingExtraError(f"the TFMOT worker cannot import the tfmot extra (see "
                                f"{log_path}). Install it: {INSTALL}.")
    if code:
        with open(log_path) as f:
            tail = "".join(f.readlines()[-20:])
        return f"the TFMOT worker failed (exit status {code}); the end of {log_path}:\n{tail}"
    return None
