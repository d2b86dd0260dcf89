"""The tf_keras side of the TFMOT baseline: a script run in its own process.

TFMOT 0.8 accepts only tf_keras (Keras 2) models, and importing it sets
``TF_USE_LEGACY_KERAS=1``, which turns ``tf.keras`` into tf_keras for the
whole process. So this file is never imported by lth_keras: the driver
(:mod:`lth_keras.procedures.tfmot_baseline`) runs it as a script, and it imports
neither lth_keras nor Keras 3. Everything it needs comes in files the
driver wrote:

- a job (``job.json``): the architecture as a list of plain layer specs read
  from the stripped Keras 3 zoo model, the pruning schedule, the optimizer,
  the iteration count, ``eval_every``, compile settings, the seed and paths;
- the data (``.npz``): normalised arrays of every split and the training
  order (indices and batch ends) read from ``lth_keras.data``'s pipeline;
- theta_0 (``.npz``, ``<layer>/<i>``) and the learning rate of every iteration.

For each job it writes the stripped weights and TFMOT's masks (``.npz``) and
then, last and atomically, the outcome (``.json``), which marks the job done.

    python tfmot_worker.py JOB.json [JOB.json ...]
    python tfmot_worker.py --describe SPEC.json [SPEC.json ...]  # the twins' shapes
"""

import os

if __name__ != "__main__":
    # Importing this module would set TF_USE_LEGACY_KERAS in the importer.
    raise ImportError("lth_keras.baselines.tfmot_worker runs only as a script, "
                      "in its own process (see lth_keras.procedures.tfmot_baseline).")

os.environ["TF_USE_LEGACY_KERAS"] = "1"  # before TensorFlow: tf.keras is tf_keras here
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import json  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

# This folder holds lth_keras's own tfmot.py: never shadow the real packages.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import numpy as np  # noqa: E402

MISSING_EXTRA = 3  # exit status the driver turns into the install hint
try:
    import tensorflow as tf
    import tensorflow_model_optimization as tfmot
    import tf_keras
except ImportError as error:
    print(f"tfmot_worker: {error}", file=sys.stderr)
    sys.exit(MISSING_EXTRA)

sparsity = tfmot.sparsity.keras

# The layers TFMOT wraps: those whose kernels lth_keras masks in these models.
PRUNABLE = ("Dense", "Conv2D")


# The twin ----------------------------------------------------------------------

def build_twin(spec, schedule=None):
    """The tf_keras chain model of ``spec``; with ``schedule``, every Dense and
    Conv2D layer is wrapped by ``prune_low_magnitude`` under it."""
    inputs = tf_keras.Input(shape=spec["input_shape"], name="input")
    x = inputs
    for layer in spec["layers"]:
        cls = getattr(tf_keras.layers, layer["class"])
        made = cls(name=layer["name"], **layer["config"])
        if schedule is not None and layer["class"] in PRUNABLE:
            made = sparsity.prune_low_magnitude(made, pruning_schedule=schedule)
        x = made(x)
    return tf_keras.Model(inputs, x, name=spec["name"])


def inner(layer):
    """The layer a pruning wrapper wraps (or the layer itself)."""
    return getattr(layer, "layer", layer)


def set_weights(model, path):
    """Loads ``<layer>/<i>`` arrays into the layers of those names."""
    with np.load(path) as arrays:
        for layer in model.layers:
            layer = inner(layer)
            if layer.weights:
                layer.set_weights([arrays[f"{layer.name}/{i}"] for i in range(len(layer.weights))])


def weights_by_layer(model):
    return {f"{inner(l).name}/{i}": w for l in model.layers
            for i, w in enumerate(inner(l).get_weights())}


def describe(spec_path):
    """The twin's per-layer weight shapes, parameter count and, given weights
    and inputs, its logits: what a test compares with the Keras 3 model."""
    spec = read_json(spec_path)
    model = build_twin(spec)
    out = {
        "shapes": {inner(l).name: [list(w.shape) for w in l.weights] for l in model.layers
                   if l.weights},
        "params": int(model.count_params()),
        "tf_keras_version": tf_keras.__version__,
        "tf_keras_is_tf_keras": tf.keras.__name__.startswith("tf_keras"),
    }
    if spec.get("weights"):
        set_weights(model, spec["weights"])
        with np.load(spec["inputs"]) as f:
            logits = model(f["x"], training=False).numpy()
        np.save(spec["logits"], logits)
    return out


# Training -----------------------------------------------------------------------

class TableSchedule(tf_keras.optimizers.schedules.LearningRateSchedule):
    """The learning rate of each iteration, read from a table the driver
    computed with lth_keras's own schedule (so warm-up and decay match)."""

    def __init__(self, rates):
        self.rates = tf.constant(rates, tf.float32)

    def __call__(self, step):
        last = tf.shape(self.rates, out_type=tf.int64)[0] - 1
        return tf.gather(self.rates, tf.minimum(tf.cast(step, tf.int64), last))

    def get_config(self):
        return {"rates": self.rates.numpy().tolist()}


def make_optimizer(spec, rates):
    """tf_keras's twin of ``lth_keras.training.make_optimizer`` (same defaults)."""
    lr = TableSchedule(rates)
    if spec["name"] == "adam":
        return tf_keras.optimizers.Adam(lr)
    if spec["name"] == "adamw":
        return tf_keras.optimizers.AdamW(lr, weight_decay=spec["weight_decay"])
    if spec["name"] == "sgd":
        return tf_keras.optimizers.SGD(lr, momentum=spec["momentum"],
                                       weight_decay=spec["weight_decay"] or None)
    raise ValueError(f"optimizer: unknown {spec['name']!r}.")


def make_schedule(spec):
    """TFMOT's ConstantSparsity or PolynomialDecay (Zhu & Gupta 2017)."""
    if spec["kind"] == "constant":
        return sparsity.ConstantSparsity(spec["target_sparsity"], spec["begin_step"],
                                         end_step=-1, frequency=spec["frequency"])
    return sparsity.PolynomialDecay(0.0, spec["target_sparsity"], spec["begin_step"],
                                    spec["end_step"], power=spec["power"],
                                    frequency=spec["frequency"])


class Divergence(tf_keras.callbacks.Callback):
    """tf_keras's twin of ``lth_keras.callbacks.Divergence``: stops training at
    the first non-finite training loss (read after every compiled call) or
    weight (checked at every evaluation); ``iteration`` says where."""

    def __init__(self):
        super().__init__()
        self.iteration = None

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if self.iteration is None and loss is not None and not math.isfinite(float(loss)):
            self._stop()

    def on_epoch_end(self, epoch, logs=None):
        finite = all(np.isfinite(w).all() for w in self.model.get_weights())
        if self.iteration is None and not finite:
            self._stop()

    def _stop(self):
        self.iteration = int(self.model.optimizer.iterations.numpy())
        self.model.stop_training = True


class EarlyStopIteration(tf_keras.callbacks.Callback):
    """tf_keras's twin of ``lth_keras.callbacks.EarlyStopIteration``: the
    iteration of minimum validation loss and the test accuracy there, counted
    only from ``first`` on (once the target sparsity is in force), and never
    at an evaluation of a diverged model."""

    def __init__(self, test_data, first, divergence):
        super().__init__()
        self.test_data, self.first, self.divergence = test_data, first, divergence
        self.best_loss, self.best_iteration, self.test_accuracy = float("inf"), None, None

    def on_epoch_end(self, epoch, logs=None):
        loss = (logs or {}).get("val_loss")
        iteration = int(self.model.optimizer.iterations.numpy())
        if loss is None or iteration < self.first or not loss < self.best_loss:
            return
        if self.divergence.iteration is not None:
            return
        self.best_loss, self.best_iteration = float(loss), iteration
        self.test_accuracy = float(self.model.evaluate(self.test_data, verbose=0)[1])


def training_batches(data):
    """The driver's training order as a tf.data pipeline of (x, y) batches."""
    x, y = tf.constant(data["x_train"]), tf.constant(data["y_train"])
    order = tf.constant(data["order"])
    ends = data["batch_ends"].astype(np.int64)
    starts = np.concatenate([[0], ends[:-1]])

    def gather(start, end):
        indices = order[start:end]
        return tf.gather(x, indices), tf.gather(y, indices)

    batches = tf.data.Dataset.from_tensor_slices((starts, ends)).map(gather)
    return batches.repeat().prefetch(tf.data.AUTOTUNE)


def unshuffled(data, split, batch_size):
    return (tf.data.Dataset.from_tensor_slices((data[f"x_{split}"], data[f"y_{split}"]))
            .batch(batch_size).cache().prefetch(tf.data.AUTOTUNE))


def run_job(job):
    """Trains, prunes and strips one (schedule, density, seed) cell."""
    tf_keras.backend.clear_session()
    tf_keras.utils.set_random_seed(job["seed"])
    with np.load(job["data"]) as f:
        data = {k: f[k] for k in f.files}
    model = build_twin(job["spec"], make_schedule(job["schedule"]))
    set_weights(model, job["initial_weights"])
    model.compile(optimizer=make_optimizer(job["optimizer"], np.load(job["learning_rates"])),
                  loss=tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"], jit_compile=job["jit_compile"],
                  steps_per_execution=job["steps_per_execution"])
    validation = unshuffled(data, "validation", job["batch_size"])
    test = unshuffled(data, "test", job["batch_size"])
    divergence = Divergence()
    tracker = EarlyStopIteration(test, job["schedule"]["final_step"], divergence)
    callbacks = [sparsity.UpdatePruningStep(), divergence,
                 sparsity.PruningSummaries(log_dir=job["log_dir"]), tracker]
    # Evaluate every eval_every iterations, as lth_keras's Trainer does.
    iterations, eval_every = job["iterations"], job["eval_every"]
    full, remainder = divmod(iterations, eval_every)
    train = training_batches(data)
    began = time.perf_counter()
    model.fit(train, steps_per_epoch=eval_every, epochs=full, verbose=0, shuffle=False,
              validation_data=validation, callbacks=callbacks)
    if remainder and divergence.iteration is None:
        model.fit(train.skip(full * eval_every), steps_per_epoch=remainder, initial_epoch=full,
                  epochs=full + 1, verbose=0, shuffle=False, validation_data=validation,
                  callbacks=callbacks)
    wall = time.perf_counter() - began
    test_loss = test_accuracy = None  # a diverged model's logits tell nothing
    if divergence.iteration is None:
        test_loss, test_accuracy = model.evaluate(test, verbose=0)
    wrappers = [l for l in model.layers if hasattr(l, "pruning_vars")]
    masks = {f"{w.layer.name}/kernel": mask.numpy() for w in wrappers
             for _, mask, _ in w.pruning_vars}
    pruning_step = int(wrappers[0].pruning_step.numpy()) if wrappers else 0
    stripped = sparsity.strip_pruning(model)
    save_npz(job["trained_weights"], weights_by_layer(stripped))
    save_npz(job["masks"], masks)
    write_json(job["outcome"], {
        "status": "ok" if divergence.iteration is None else "diverged",
        "diverged_at_iteration": divergence.iteration,
        "early_stop_iteration": tracker.best_iteration,
        "test_accuracy_at_early_stop": tracker.test_accuracy,
        "test_accuracy": None if test_accuracy is None else float(test_accuracy),
        "test_loss": None if test_loss is None or not math.isfinite(test_loss) else float(test_loss),
        "validation_loss_min": tracker.best_loss if tracker.best_iteration is not None else None,
        "iterations": int(model.optimizer.iterations.numpy()),
        "wall_time_s": wall,
        "pruning_step": pruning_step,
        "tfmot_sparsity": {k: float(1.0 - m.mean()) for k, m in masks.items()},
        "tf_keras_version": tf_keras.__version__,
        "tfmot_version": tfmot.__version__,
    })
    return test_accuracy


# Files ----------------------------------------------------------------------------

def read_json(path):
    with open(path) as f:
        return json.load(f)


def _fresh(path, suffix):
    """A new temporary file beside ``path``, created exclusively with a random
    name (a fixed name could be a planted link); lth_keras.runs.files does
    the same in the driver."""
    if os.path.islink(path):
        raise SystemExit(f"tfmot_worker: {path} is a symbolic link; remove it.")
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".", prefix=".tmp_", suffix=suffix)
    os.close(fd)
    return tmp


def write_json(path, obj):
    tmp = _fresh(path, ".json")
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2)
    os.replace(tmp, path)


def save_npz(path, arrays):
    tmp = _fresh(path, ".npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def main(argv):
    if argv[:1] == ["--describe"]:
        print(json.dumps([describe(path) for path in argv[1:]]))
        return
    for path in argv:
        job = read_json(path)
        if job.get("deterministic_ops"):
            tf.config.experimental.enable_op_determinism()
        accuracy = run_job(job)
        print(f"tfmot {job['schedule']['kind']:>10}: target density "
              f"{1 - job['schedule']['target_sparsity']:.4f}  seed {job['seed']}  "
              + ("diverged" if accuracy is None else f"test accuracy {accuracy:.4f}"), flush=True)


main(sys.argv[1:])
