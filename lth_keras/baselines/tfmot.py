"""TFMOT's weight-level pruning as a baseline beside IMP, isolated under tf_keras.

Two schedules of TensorFlow Model Optimization's ``prune_low_magnitude``,
applied to every Dense and Conv2D layer at a uniform sparsity while the
network trains once, from the same theta_0 as IMP:

- ``constant``: ``ConstantSparsity``: the target sparsity from the first
  pruning turn on, masks recomputed every ``--pruning_frequency`` iterations;
- ``polynomial``: ``PolynomialDecay``, gradual magnitude pruning (Zhu & Gupta
  2017): sparsity rises from 0 to the target as ``1 - (1 - t)^3`` between
  ``--pruning_begin`` and ``--pruning_end`` of training.

TFMOT runs only on tf_keras and switches ``tf.keras`` to it in the process
that imports it, so it never runs here: this driver writes each run's inputs
(the architecture read from the zoo model, theta_0, the data and its
training order from ``lth_keras.data``, the learning rate of every
iteration) to the run directory and launches ``tfmot_worker.py`` in a
subprocess. It then loads the worker's stripped weights and masks back into
the Keras 3 zoo model, so density, compression, test accuracy and the
deployment sizes (:mod:`lth_keras.deploy`) are measured by the same code as
every lth_keras run, and writes ``results.json`` with the shared writer.
"""

import dataclasses
import importlib.util
import math
import os
import subprocess
import sys

import keras
import numpy as np
import tensorflow as tf

from lth_keras import deploy, metrics
from lth_keras.analysis.plots import accuracy_vs_density
from lth_keras.data.dataset import Dataset
from lth_keras.data.normalization import IDENTITY
from lth_keras.data.splits import Splits
from lth_keras.lottery.imp import resolve_iterations
from lth_keras.models import build as build_model
from lth_keras.pruning.masks import density, layer_densities, load_masks, set_masks
from lth_keras.runs.config import RunConfig, _choice, field
from lth_keras.runs.experiment import procedure
from lth_keras.runs.results import read_results, write_results
from lth_keras.runs.workdir import Workdir, read_json, write_json
from lth_keras.training.trainer import Trainer
from lth_keras.wrapping import strip, wrap

SCHEDULES = ("constant", "polynomial")
WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tfmot_worker.py")
MISSING_EXTRA = 3  # the worker's exit status when it cannot import the extra
EXTRA_MODULES = ("tf_keras", "tensorflow_model_optimization")
INSTALL = ("pip install -e '.[tfmot]' from the lth_keras checkout, or "
           f"pip install tf-keras=={tf.__version__} tensorflow-model-optimization "
           "(tf-keras must match TensorFlow's version)")

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


@dataclasses.dataclass
class TfmotConfig(RunConfig):
    """The TFMOT baseline's flags. Training flags are IMP's (Frankle & Carbin
    2019's LeNet-300-100 on mnist5k), so each run costs one IMP round."""

    densities: list = field([0.2, 0.1, 0.05], "Target densities (fraction of weights kept).",
                            item=float)
    pruning_schedules: list = field(list(SCHEDULES), f"TFMOT pruning schedules, any of {SCHEDULES}.")
    seeds: list = field([], "Seeds of theta_0 and data order, one run each (empty: --seed).",
                        item=int)
    pruning_begin: float = field(0.0, "Fraction of training at which pruning begins.")
    pruning_end: float = field(0.75, "polynomial: fraction of training by which the target "
                                     "sparsity is reached (rounded to a pruning turn).")
    pruning_frequency: int = field(100, "Iterations between mask updates (TFMOT's default).")
    pruning_power: float = field(3.0, "polynomial: exponent of the sparsity ramp (Zhu & Gupta 2017).")
    imp_workdir: str = field("", "An IMP run directory whose tickets nearest each density "
                                 "are listed beside the TFMOT runs.")

    def validate(self):
        super().validate()
        if not self.densities:
            raise ValueError("--densities: expected at least one density.")
        for d in self.densities:
            if not 0.0 < d < 1.0:
                raise ValueError(f"--densities: expected fractions in (0, 1), got {d}.")
        if not self.pruning_schedules:
            raise ValueError(f"--pruning_schedules: expected any of {SCHEDULES}, got none.")
        for s in self.pruning_schedules:
            _choice("pruning_schedules", s, SCHEDULES)
        for s in self.seeds:
            if s < 0:
                raise ValueError(f"--seeds: expected seeds >= 0, got {s}.")
        if not 0.0 <= self.pruning_begin < self.pruning_end <= 1.0:
            raise ValueError(
                f"--pruning_begin, --pruning_end: expected 0 <= begin < end <= 1, got "
                f"{self.pruning_begin} and {self.pruning_end}.")
        if self.pruning_frequency < 1:
            raise ValueError(f"--pruning_frequency: expected >= 1, got {self.pruning_frequency}.")
        if not self.pruning_power > 0:
            raise ValueError(f"--pruning_power: expected > 0, got {self.pruning_power}.")
        if self.strategy != "default":
            raise ValueError(f"--strategy: the TFMOT baseline trains in one tf_keras process; "
                             f"expected 'default', got '{self.strategy}'.")
        if self.augment:
            raise ValueError("--augment: the TFMOT worker trains on fixed arrays; augmentation "
                             "is not supported.")
        if self.imp_workdir and not os.path.isfile(os.path.join(self.imp_workdir, "results.json")):
            raise ValueError(f"--imp_workdir: no results.json in '{self.imp_workdir}'.")

    def run_seeds(self):
        return list(self.seeds) or [self.seed]


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


def _save_npz(path, arrays):
    tmp = f"{path}.tmp.npz"
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def _cell_name(schedule, target, seed):
    return (schedule, f"density_{target:g}", f"seed_{seed}")


@procedure("tfmot_baseline")
class TfmotBaseline:
    """Runs every (schedule, density, seed) cell into a :class:`Workdir`.

    A cell is finished when its ``record.json`` exists; the worker's outcome
    is kept, so a cell trained before an interruption is only measured.
    """

    def __init__(self, config, workdir, strategy=None, log=print):
        require_extra()
        self.config = config
        self.workdir = workdir
        self.log = log
        self._data = {}
        self.seeds = config.run_seeds()
        first = self.data(self.seeds[0])
        self.iterations = resolve_iterations(config, first)
        self.spec = twin_spec(strip(self.initial_model(self.seeds[0])))
        self.begin_step, self.end_step, self.final_step = pruning_steps(config, self.iterations)
        self.imp = self._imp_run() if config.imp_workdir else None
        self._imp_records = None  # measured once, when first listed
        self.tensorboard = workdir.stage("tensorboard")
        self.runs_writer = tf.summary.create_file_writer(os.path.join(self.tensorboard, "runs"))

    def data(self, seed):
        if seed not in self._data:
            c = self.config
            self._data[seed] = c.load_data(seed=seed, augment=False)
        return self._data[seed]

    def initial_model(self, seed):
        """The masked zoo model at theta_0 of ``seed`` (as IMP builds it)."""
        data = self.data(seed)
        return build_model(self.config.model, data.input_shape, data.num_classes, seed=seed)

    def cells(self):
        return [(s, d, seed) for s in self.config.pruning_schedules
                for d in self.config.densities for seed in self.seeds]

    # Stages -----------------------------------------------------------------

    def run(self):
        """Trains every unfinished cell in one worker process, then measures them."""
        todo = [c for c in self.cells() if not self.workdir.finished(*_cell_name(*c))]
        untrained = [c for c in todo if not os.path.exists(self._path(c, "outcome.json"))]
        failure = self._launch([self._write_job(c) for c in untrained]) if untrained else None
        for cell in todo:
            if os.path.exists(self._path(cell, "outcome.json")):
                self._finish(cell)
        self.save_results()
        if failure:
            raise RuntimeError(failure)
        return self.records()

    def full_config(self):
        return {**self.config.to_dict(), "resolved_iterations": self.iterations,
                "pruning_begin_step": self.begin_step, "pruning_end_step": self.end_step}

    def _path(self, cell, name):
        return os.path.join(self.workdir.stage(*_cell_name(*cell)), name)

    def _inputs(self, seed):
        """Writes (once) the data, training order and theta_0 of ``seed``."""
        stage = self.workdir.stage("inputs", f"seed_{seed}")
        paths = {name: os.path.join(stage, f"{name}.npz") for name in ("data", "initial")}
        if not os.path.exists(paths["data"]):
            data = self.data(seed)
            order, ends = training_order(data, self.config.batch_size, seed, self.iterations)
            arrays = {"order": order, "batch_ends": ends}
            for split in ("train", "validation", "test"):
                arrays[f"x_{split}"], arrays[f"y_{split}"] = data.arrays(split)
            _save_npz(paths["data"], arrays)
        if not os.path.exists(paths["initial"]):
            _save_npz(paths["initial"], weights_by_layer(strip(self.initial_model(seed))))
        return paths

    def _learning_rates(self):
        """The learning rate of every iteration, from the Trainer's own schedule."""
        path = os.path.join(self.workdir.stage("inputs"), "learning_rates.npy")
        if not os.path.exists(path):
            c = dataclasses.replace(self.config, iterations=self.iterations)
            schedule = Trainer(self.initial_model(self.seeds[0]), self.data(self.seeds[0]), c).schedule()
            steps = np.arange(self.iterations)
            rates = np.broadcast_to(np.asarray(schedule(steps), np.float32), steps.shape)
            np.save(f"{path}.tmp.npy", rates)
            os.replace(f"{path}.tmp.npy", path)
        return path

    def _write_job(self, cell):
        schedule, target, seed = cell
        c = self.config
        inputs = self._inputs(seed)
        eval_every = min(c.eval_every, self.iterations)
        job = {
            "spec": self.spec,
            "seed": seed,
            "schedule": {"kind": schedule, "target_sparsity": 1.0 - target,
                         "begin_step": self.begin_step, "end_step": self.end_step,
                         "frequency": c.pruning_frequency, "power": c.pruning_power,
                         "final_step": self.final_step[schedule]},
            "optimizer": {"name": c.optimizer, "momentum": c.momentum,
                          "weight_decay": c.weight_decay},
            "learning_rates": self._learning_rates(),
            "data": inputs["data"],
            "initial_weights": inputs["initial"],
            "iterations": self.iterations,
            "eval_every": eval_every,
            "batch_size": c.batch_size,
            # As the Trainer: every evaluation falls on an execution boundary.
            "steps_per_execution": math.gcd(c.steps_per_execution, eval_every,
                                            self.iterations % eval_every),
            "jit_compile": c.jit_compile,
            "deterministic_ops": c.deterministic_ops,
            "log_dir": os.path.join(self.tensorboard, "_".join(_cell_name(*cell))),
            "trained_weights": self._path(cell, "trained.npz"),
            "masks": self._path(cell, "masks.npz"),
            "outcome": self._path(cell, "outcome.json"),
        }
        path = self._path(cell, "job.json")
        write_json(path, job)
        return path

    def _launch(self, jobs):
        """Runs the worker on ``jobs``; None, or what went wrong."""
        log_path = os.path.join(self.workdir.path, "worker.log")
        self.log(f"tfmot: training {len(jobs)} run(s) under tf_keras in a subprocess "
                 f"(its stderr: {log_path})")
        sys.stdout.flush()
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

    def _transplant(self, seed, weights_path, masks):
        """The masked Keras 3 zoo model holding the worker's weights and masks."""
        plain = strip(self.initial_model(seed))
        with np.load(weights_path) as arrays:
            load_by_layer(plain, arrays)
        model = wrap(plain)
        set_masks(model, masks)
        return model

    def _dense_sizes(self, seed):
        """Deployment sizes of the dense network at theta_0 (the reference)."""
        path = os.path.join(self.workdir.stage("inputs", f"seed_{seed}"), "dense_sizes.json")
        if not os.path.exists(path):
            write_json(path, deploy.compressed_sizes(strip(self.initial_model(seed))))
        return read_json(path)

    def _finish(self, cell):
        schedule, target, seed = cell
        outcome = read_json(self._path(cell, "outcome.json"))
        model = self._transplant(seed, self._path(cell, "trained.npz"),
                                 load_masks(self._path(cell, "masks.npz")))
        model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"])
        _, keras3_accuracy = model.evaluate(self.data(seed).test(self.config.batch_size), verbose=0)
        report = metrics.report(model)
        record = {
            "method": f"tfmot_{schedule}",
            "target_density": target,
            "density": density(model),
            "seed": seed,
            **outcome,
            "total_wall_time_s": outcome["wall_time_s"],
            "test_accuracy_keras3": float(keras3_accuracy),
            "compression_ratio": report["compression_ratio"],
            "theoretical_speedup": report["theoretical_speedup"],
            **deploy.beside(deploy.compressed_sizes(model), self._dense_sizes(seed)),
            "layer_densities": layer_densities(model),
        }
        self.workdir.finish(record, *_cell_name(*cell))
        self._summarize(record)
        self.log(f"{record['method']:>16}: density {record['density']:.4f}  seed {seed}  "
                 f"test accuracy {record['test_accuracy']:.4f}  "
                 f"gzip .tflite {record['tflite_gzip_bytes']} bytes")

    def _summarize(self, record):
        """Test accuracy against density in TensorBoard, as IMP logs its rounds."""
        with self.runs_writer.as_default():
            tf.summary.scalar(f"{record['method']}/test_accuracy_vs_density_bp",
                              record["test_accuracy"], step=int(round(record["density"] * 10000)))
        self.runs_writer.flush()

    # IMP beside -------------------------------------------------------------

    def _imp_run(self):
        """The IMP run of --imp_workdir, checked to be of the same model and data."""
        path = self.config.imp_workdir
        results = read_results(path)
        theirs = results["config"]
        for flag in ("model", "dataset"):
            if theirs.get(flag) != getattr(self.config, flag):
                raise ValueError(f"--imp_workdir: '{path}' ran --{flag}={theirs.get(flag)}, "
                                 f"this run --{flag}={getattr(self.config, flag)}.")
        return results

    def imp_records(self):
        """The dense round and, per target density, the IMP ticket nearest it,
        measured as the TFMOT runs are; ``total_wall_time_s`` sums the training
        of every round up to it (what the ticket cost)."""
        theirs = self.imp["config"]
        workdir = Workdir(self.config.imp_workdir, read_json(
            os.path.join(self.config.imp_workdir, "config.json")))
        tickets = sorted((r for r in self.imp["rounds"] if not r.get("control")),
                         key=lambda r: r["round"])
        chosen = {0: None}
        for target in self.config.densities:
            nearest = min(tickets[1:] or tickets, key=lambda r: abs(r["density"] - target))
            chosen.setdefault(nearest["round"], target)
        seed = theirs["seed"]
        model = build_model(theirs["model"], self.data(seed).input_shape,
                            self.data(seed).num_classes, seed=seed)
        workdir.load_weights(model, "initial", "round_00")
        dense = deploy.compressed_sizes(model)
        out = []
        for rnd, target in sorted(chosen.items()):
            record = next(r for r in tickets if r["round"] == rnd)
            stage = f"round_{rnd:02d}"
            workdir.load_weights(model, "final", stage)
            set_masks(model, workdir.load_masks(stage))
            out.append({
                "method": "imp" if rnd else "dense",
                "target_density": target,
                "density": record["density"],
                "seed": seed,
                "round": rnd,
                **{k: record[k] for k in ("early_stop_iteration", "test_accuracy_at_early_stop",
                                          "test_accuracy", "test_loss", "iterations",
                                          "wall_time_s", "compression_ratio",
                                          "theoretical_speedup")},
                "total_wall_time_s": sum(r["wall_time_s"] for r in tickets if r["round"] <= rnd),
                **deploy.beside(deploy.compressed_sizes(model), dense),
                "source": os.path.abspath(self.config.imp_workdir),
            })
        return out

    # Results ----------------------------------------------------------------

    def records(self):
        """Finished cells in order, then the IMP records beside them (if any)."""
        out = [self.workdir.record(*_cell_name(*c)) for c in self.cells()
               if self.workdir.finished(*_cell_name(*c))]
        if self.imp is not None:
            if self._imp_records is None:
                self._imp_records = self.imp_records()
            out += self._imp_records
        return out

    def save_results(self):
        """results.json (key ``runs``), results.csv and accuracy against density."""
        records = self.records()
        write_results(self.workdir.path, self.full_config(), records, "runs")
        if records:
            accuracy_vs_density(records, os.path.join(self.workdir.path, "accuracy_vs_density.png"),
                                group_by="method",
                                title=f"TFMOT baselines: {self.config.model} on {self.config.dataset}")
