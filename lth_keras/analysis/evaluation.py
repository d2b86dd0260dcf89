"""Evaluates every saved model of a run directory beyond clean accuracy.

A saved model is a stage folder holding ``final.weights.h5`` and a finished
``record.json`` (IMP: ``round_03/``, ``round_03/reinit/``; any experiment that
saves through :class:`lth_keras.runs.Workdir` the same way). Each one is
rebuilt from the run's ``config.json`` (model, dataset, seed), loaded with its
weights and ``masks.npz``, and measured on: clean accuracy; accuracy under
FGSM and PGD; accuracy under the common corruptions and their mean;
calibration (ECE, NLL, Brier); learning distance from the stage's
``initial.weights.h5`` (where its training started: theta_0, or W_k under
the mask for a rewound ticket); compression ratio and multiply-adds.

The figures go to ``<run>/<name>/`` (default ``evaluation/``): one
``record.json`` per stage and ``results.json`` / ``results.csv`` (key
``"evaluation"``) through the shared writer. The run's own results are never
touched. Each record keeps the stage's identifying fields (round, control,
method, ...) and, under ``"source"``, the stage record's scalar fields, which
:mod:`lth_keras.analysis.report` uses to join the two. Finished stages are
skipped, so rerunning the same command resumes; other flags need another
``--name``.
"""

import dataclasses
import os
import time

import numpy as np

from lth_keras import metrics
from lth_keras.analysis import calibration, distance, robustness
from lth_keras.analysis import corruptions as corruption_lib
from lth_keras.analysis.pixels import PixelSpace
from lth_keras.analysis.predict import accuracy
from lth_keras.data import load as load_data
from lth_keras.models import build as build_model
from lth_keras.pruning.masks import density, load_masks, set_masks
from lth_keras.runs.config import _choice, field
from lth_keras.runs.results import write_results
from lth_keras.runs.workdir import Workdir, read_json

SPLITS = ("test", "validation")
SOURCES = ("offline", "tfds")
# Fields of a stage record that say which model it is.
IDENTITY = ("round", "control", "method", "sanity", "sparsity", "budget", "seed")
SKIPPED_DIRS = ("tensorboard",)


@dataclasses.dataclass
class EvaluationConfig:
    """What to measure. Defaults: FGSM and PGD at epsilon 0.1 on [0, 1] pixels
    (PGD: 20 steps of 0.01 from a random start, Madry et al. 2018), the six
    offline corruptions at severities 1-5, ECE with 15 bins (Guo et al. 2017)."""

    name: str = field("evaluation", "Folder of --workdir the evaluation is written to.")
    stages: list = field([], "Stages to evaluate, e.g. round_00,round_03/reinit (empty: all).")
    split: str = field("test", f"Split evaluated, one of {SPLITS}.")
    examples: int = field(0, "Evaluate the first this many examples of the split (0: all).")
    batch_size: int = field(500, "Evaluation batch size.")
    fgsm_epsilon: float = field(0.1, "FGSM L-infinity budget on [0, 1] pixels (0: no FGSM).")
    pgd_epsilon: float = field(0.1, "PGD L-infinity budget on [0, 1] pixels (0: no PGD).")
    pgd_step_size: float = field(0.01, "PGD step size on [0, 1] pixels.")
    pgd_steps: int = field(20, "PGD steps.")
    pgd_random_start: bool = field(True, "Start PGD at a uniform random point of the ball.")
    corruptions: list = field(list(corruption_lib.CORRUPTIONS),
                              "Corruptions evaluated (empty: none).")
    severities: list = field(list(corruption_lib.SEVERITIES), "Corruption severities, 1-5.", item=int)
    corruption_source: str = field(
        "offline", "offline (tf.image ops, any image dataset) or tfds (a prepared "
                   "TFDS cifar10_corrupted, for CIFAR-10 runs).")
    corruption_data_dir: str = field("", "TFDS data_dir of cifar10_corrupted (default: the run's).")
    calibration_bins: int = field(calibration.DEFAULT_BINS, "Confidence bins of the ECE.")
    seed: int = field(0, "Seed of the corruption noise and of PGD's random start.")

    def validate(self):
        if not self.name or os.sep in self.name or self.name in (".", ".."):
            raise ValueError(f"--name: expected a plain folder name, got {self.name!r}.")
        _choice("split", self.split, SPLITS)
        _choice("corruption_source", self.corruption_source, SOURCES)
        if self.examples < 0:
            raise ValueError(f"--examples: expected >= 0, got {self.examples}.")
        if self.batch_size < 1:
            raise ValueError(f"--batch_size: expected >= 1, got {self.batch_size}.")
        for flag in ("fgsm_epsilon", "pgd_epsilon"):
            value = getattr(self, flag)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"--{flag}: expected a pixel budget in [0, 1], got {value}.")
        if self.pgd_epsilon > 0 and not self.pgd_step_size > 0:
            raise ValueError(f"--pgd_step_size: expected > 0, got {self.pgd_step_size}.")
        if self.pgd_epsilon > 0 and self.pgd_steps < 1:
            raise ValueError(f"--pgd_steps: expected >= 1, got {self.pgd_steps}.")
        corruption_lib.check_names(self.corruptions)
        for severity in self.severities:
            if severity not in corruption_lib.SEVERITIES:
                raise ValueError(f"--severities: expected values in 1-5, got {severity}.")
        if self.corruptions and not self.severities:
            raise ValueError("--severities: expected at least one severity with --corruptions.")
        if self.calibration_bins < 1:
            raise ValueError(f"--calibration_bins: expected >= 1, got {self.calibration_bins}.")

    def to_dict(self):
        return dataclasses.asdict(self)


def saved_models(run_path, skip=()):
    """Stage folders (relative paths) with ``final.weights.h5`` and ``record.json``."""
    found = []
    for root, dirs, files in os.walk(run_path):
        rel = os.path.relpath(root, run_path)
        dirs[:] = sorted(d for d in dirs if not (rel == "." and d in (*SKIPPED_DIRS, *skip)))
        if "final.weights.h5" in files and "record.json" in files and rel != ".":
            found.append(rel.replace(os.sep, "/"))
    return found


def _scalars(record):
    return {k: v for k, v in record.items() if not isinstance(v, (dict, list))}


class Evaluation:
    """Evaluates the saved models of ``run_path``; ``run()`` returns the records.

    Raises ValueError for a bad run directory or stage before any work.
    """

    def __init__(self, config, run_path, log=print):
        self.config = config
        self.run_path = run_path
        self.log = log
        if not os.path.isfile(os.path.join(run_path, "config.json")):
            raise ValueError(f"--workdir: {run_path!r} is not a run directory (no config.json).")
        self.run_config = read_json(os.path.join(run_path, "config.json"))
        for key in ("model", "dataset"):
            if key not in self.run_config:
                raise ValueError(f"--workdir: {run_path}/config.json has no {key!r}.")
        found = saved_models(run_path, skip=(config.name,))
        missing = sorted(set(config.stages) - set(found))
        if missing:
            raise ValueError(f"--stages: {missing} are not saved models of {run_path} "
                             f"(found: {found}).")
        self.stages = [s for s in found if s in config.stages] if config.stages else found
        if not self.stages:
            raise ValueError(f"--workdir: {run_path} holds no finished saved model "
                             "(final.weights.h5 with record.json).")
        self.data = load_data(self.run_config["dataset"],
                              data_dir=self.run_config.get("data_dir") or None,
                              seed=self.run_config.get("seed", 0))
        if config.corruptions and len(self.data.input_shape) != 3:
            raise ValueError(f"--corruptions: need (H, W, C) images; {self.run_config['dataset']} "
                             f"has inputs of shape {self.data.input_shape} (pass --corruptions=).")
        self.corruption_data_dir = (config.corruption_data_dir
                                    or self.run_config.get("data_dir") or None)
        if config.corruption_source == "tfds":
            # Every requested set is looked up now: a missing one fails before any work.
            for name in config.corruptions:
                for severity in config.severities:
                    corruption_lib.cifar10_corrupted_examples(name, severity, self.corruption_data_dir)
        x, y = self.data.arrays(config.split)
        n = config.examples or len(y)
        self.inputs, self.labels = x[:n], y[:n]
        self.pixels = PixelSpace(self.data.normalization)
        self.model = build_model(self.run_config["model"], self.data.input_shape,
                                 self.data.num_classes, seed=self.run_config.get("seed"))
        self.attacks = {}
        if config.fgsm_epsilon > 0:
            self.attacks["fgsm"] = robustness.FGSM(config.fgsm_epsilon, self.pixels)
        if config.pgd_epsilon > 0:
            self.attacks["pgd"] = robustness.PGD(config.pgd_epsilon, config.pgd_step_size,
                                                 config.pgd_steps, config.pgd_random_start,
                                                 self.pixels)
        self.workdir = Workdir(os.path.join(run_path, config.name), config.to_dict())

    def full_config(self):
        return {**self.config.to_dict(), "run": self.run_path, "run_config": self.run_config}

    def run(self):
        for stage in self.stages:
            parts = stage.split("/")
            if self.workdir.finished(*parts):
                continue
            try:
                self._load(parts)
            except ValueError as error:
                # e.g. a layer-lottery ticket, physically smaller than the run's --model.
                self.log(f"{stage}: skipped, its weights do not fit {self.run_config['model']}: "
                         f"{str(error).splitlines()[0]}")
                continue
            self._evaluate(stage, parts)
            self.save_results()
        self.save_results()
        return self.records()

    def records(self):
        return [self.workdir.record(*s.split("/")) for s in self.stages
                if self.workdir.finished(*s.split("/"))]

    def save_results(self):
        write_results(self.workdir.path, self.full_config(), self.records(), "evaluation")

    # One saved model -----------------------------------------------------------

    def _load(self, parts):
        folder = os.path.join(self.run_path, *parts)
        self.model.load_weights(os.path.join(folder, "final.weights.h5"))
        if os.path.exists(os.path.join(folder, "masks.npz")):
            set_masks(self.model, load_masks(os.path.join(folder, "masks.npz")))

    def _evaluate(self, stage, parts):
        """Measures the model loaded from ``parts`` and finishes its stage."""
        c = self.config
        began = time.perf_counter()
        folder = os.path.join(self.run_path, *parts)
        source = _scalars(read_json(os.path.join(folder, "record.json")))
        record = {"stage": stage, **{k: source[k] for k in IDENTITY if k in source},
                  "density": density(self.model)}
        report = metrics.report(self.model)
        record.update({k: report[k] for k in ("compression_ratio", "theoretical_speedup",
                                              "dense_multiply_adds", "effective_multiply_adds",
                                              "nonzero_params")})
        probs = calibration.probabilities(self.model, self.inputs, c.batch_size)
        clean = calibration.calibration(probs, self.labels, c.calibration_bins)
        record.update({"clean_accuracy": clean["accuracy"], "ece": clean["ece"],
                       "nll": clean["nll"], "brier": clean["brier"]})
        for name, attack in self.attacks.items():
            record[f"{name}_accuracy"] = robustness.accuracy_under_attack(
                self.model, attack, self.inputs, self.labels, c.batch_size, c.seed)
        if c.corruptions:
            per_set = self._corruption_accuracies()
            record["mean_corruption_accuracy"] = float(np.mean(list(per_set.values())))
            for name in c.corruptions:
                record[f"{name}_accuracy"] = float(np.mean(
                    [per_set[f"{name}_{s}"] for s in c.severities]))
            record["corruption_accuracies"] = per_set
        if os.path.exists(os.path.join(folder, "initial.weights.h5")):
            moved = distance.learning_distance(os.path.join(folder, "initial.weights.h5"),
                                               self.model, model=self.model)
            record["learning_distance"] = moved["global"]
            record["layer_learning_distances"] = moved["layers"]
        record["evaluation_wall_time_s"] = time.perf_counter() - began
        record["source"] = source
        self.workdir.finish(record, *parts)
        self.log(f"{stage:>20}: density {record['density']:.4f}  clean {record['clean_accuracy']:.4f}"
                 + "".join(f"  {n} {record[f'{n}_accuracy']:.4f}" for n in self.attacks)
                 + (f"  corruptions {record['mean_corruption_accuracy']:.4f}" if c.corruptions else "")
                 + f"  ECE {record['ece']:.4f}")

    def _corruption_accuracies(self):
        c = self.config
        out = {}
        for i, name in enumerate(c.corruptions):
            for severity in c.severities:
                if c.corruption_source == "tfds":
                    images, labels = corruption_lib.load_cifar10_corrupted(
                        name, severity, self.corruption_data_dir)
                    n = c.examples or len(labels)
                    inputs, labels = self.data.normalization.numpy(images[:n]), labels[:n]
                else:
                    # The same seed for every stage: every model sees the same images.
                    inputs, labels = corruption_lib.corrupt(
                        self.inputs, name, severity, self.pixels,
                        seed=c.seed * 1_000 + i * 10 + severity, batch_size=c.batch_size), self.labels
                out[f"{name}_{severity}"] = accuracy(self.model, inputs, labels, c.batch_size)
        return out
