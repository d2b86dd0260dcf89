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
:mod:`lth_keras.reporting.report` uses to join the two. Finished stages are
skipped, so rerunning the same command resumes; other flags need another
``--name``. A model whose weights are not finite (its training diverged) is
recorded ``status: "diverged"`` with its size only: nothing else can be measured.
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
from lth_keras.models import build as build_model
from lth_keras.callbacks.divergence import finite_weights
from lth_keras.procedures.base import PROCEDURES, Procedure
from lth_keras.procedures.divergence import DIVERGED, OK, outcome
from lth_keras.pruning.masks import density, set_masks
from lth_keras.runs import layout
from lth_keras.runs.config import Config, RunConfig, field
from lth_keras.runs.validate import (at_least, choice, distinct, fraction, positive, seed,
                                     useless)
from lth_keras.runs.workdir import Workdir

SPLITS = ("test", "validation")
SOURCES = ("offline", "tfds")
# Fields of a stage record that say which model it is.
IDENTITY = ("round", "control", "method", "sanity", "sparsity", "budget", "seed")
MODEL_COSTS = ("compression_ratio", "theoretical_speedup", "dense_multiply_adds",
               "effective_multiply_adds", "nonzero_params")


@dataclasses.dataclass
class EvaluationConfig(Config):
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
        super().validate()
        if not self.name or os.sep in self.name or self.name in (".", ".."):
            raise ValueError(f"--name: expected a plain folder name, got {self.name!r}.")
        distinct("stages", [s.strip("/") for s in self.stages], nonempty=False)
        choice("split", self.split, SPLITS)
        choice("corruption_source", self.corruption_source, SOURCES)
        at_least("examples", self.examples, 0)
        at_least("batch_size", self.batch_size, 1)
        fraction("fgsm_epsilon", self.fgsm_epsilon)
        fraction("pgd_epsilon", self.pgd_epsilon)
        if self.pgd_epsilon > 0:
            positive("pgd_step_size", self.pgd_step_size)
            at_least("pgd_steps", self.pgd_steps, 1)
        distinct("corruptions", self.corruptions, nonempty=False)
        corruption_lib.check_names(self.corruptions)
        distinct("severities", self.severities, nonempty=False)
        for severity in self.severities:
            if severity not in corruption_lib.SEVERITIES:
                raise ValueError(f"--severities: expected values in 1-5, got {severity}.")
        if self.corruptions and not self.severities:
            raise ValueError("--severities: expected at least one severity with --corruptions.")
        if self.corruption_data_dir and self.corruption_source != "tfds":
            useless("corruption_data_dir", "only --corruption_source=tfds reads a data "
                    "directory", "add --corruption_source=tfds")
        at_least("calibration_bins", self.calibration_bins, 1)
        seed("seed", self.seed)

    def check_given(self, given):
        """Refuses PGD's options with PGD off, and severities with no corruption."""
        changed = self.changed(given)
        for option in ("pgd_step_size", "pgd_steps", "pgd_random_start"):
            if option in changed and not self.pgd_epsilon:
                useless(option, "--pgd_epsilon=0 runs no PGD attack", "pass --pgd_epsilon")
        if "severities" in changed and not self.corruptions:
            useless("severities", "--corruptions is empty", "pass --corruptions")


def saved_models(run_path, skip=()):
    """Stage folders (relative paths) with ``final.weights.h5`` and ``record.json``."""
    found = []
    for root, dirs, files in os.walk(run_path):
        rel = os.path.relpath(root, run_path)
        dirs[:] = sorted(d for d in dirs if not (rel == "." and d in (*layout.NOT_STAGES, *skip)))
        if layout.weights("final") in files and layout.RECORD in files and rel != ".":
            found.append(rel.replace(os.sep, "/"))
    return found


def corruption_seed(seed, index, severity):
    """The seed of one offline corruption set: the same for every stage, so
    every model sees the same corrupted images."""
    return seed * 1_000 + index * 10 + severity


def _scalars(record):
    return {k: v for k, v in record.items() if not isinstance(v, (dict, list))}


@PROCEDURES.register("evaluate")
class Evaluation(Procedure):
    """Evaluates the saved models of the run directory that holds its own.

    Its stages are the saved models of that run, named by their folders.
    """

    config_class = EvaluationConfig
    results_key = "evaluation"
    mismatch_hint = " (here: pass another --name)"
    table = {
        "stage": "", "density": ".4f", "clean_accuracy": ".4f", "fgsm_accuracy": ".4f",
        "pgd_accuracy": ".4f", "mean_corruption_accuracy": ".4f", "ece": ".4f", "nll": ".4f",
        "brier": ".4f",
    }

    @classmethod
    def run_path(cls, config, workdir_flag):
        """``<--workdir>/<--name>``; refused before anything is created."""
        if not workdir_flag:
            raise ValueError("--workdir: the run directory to evaluate is required.")
        Workdir.existing(workdir_flag, "workdir")
        return os.path.join(workdir_flag, config.name)

    def setup(self):
        config = self.config
        self.evaluated = Workdir.existing(os.path.dirname(self.workdir.path), "workdir")
        self.run_config = self.evaluated.config
        for key in ("model", "dataset"):
            if key not in self.run_config:
                raise ValueError(f"--workdir: {self.evaluated.path}/{layout.CONFIG} "
                                 f"has no {key!r}.")
        found = saved_models(self.evaluated.path, skip=(config.name,))
        missing = sorted(set(config.stages) - set(found))
        if missing:
            raise ValueError(f"--stages: {missing} are not saved models of {self.evaluated.path} "
                             f"(found: {found}).")
        chosen = [s for s in found if s in config.stages] if config.stages else found
        if not chosen:
            raise ValueError(f"--workdir: {self.evaluated.path} holds no finished saved model "
                             f"({layout.weights('final')} with {layout.RECORD}).")
        self._stages = [tuple(s.split("/")) for s in chosen]
        for stage in self._stages:  # each checked against its digests before any work
            self.evaluated.record(*stage)
        # Only the evaluated split is used, which no training transform touches.
        self.data = self.load_data(RunConfig(dataset=self.run_config["dataset"],
                                             data_dir=self.run_config.get("data_dir") or "",
                                             seed=self.run_config.get("seed", 0)))
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
        # Not ``model``: the command would print its masks' digest as the run's own.
        self.network = build_model(self.run_config["model"], self.data.input_shape,
                                   self.data.num_classes, seed=self.run_config.get("seed"))
        self.attacks = {}
        if config.fgsm_epsilon > 0:
            self.attacks["fgsm"] = robustness.FGSM(config.fgsm_epsilon, self.pixels)
        if config.pgd_epsilon > 0:
            self.attacks["pgd"] = robustness.PGD(config.pgd_epsilon, config.pgd_step_size,
                                                 config.pgd_steps, config.pgd_random_start,
                                                 self.pixels)

    def stages(self):
        return self._stages

    def resolved(self):
        return {"run": self.evaluated.path, "run_config": self.run_config}

    def describe(self):
        return (f"evaluating {len(self._stages)} saved model(s) of {self.evaluated.path} "
                f"into {self.workdir.path}")

    @staticmethod
    def report_row(record):
        """(series, setting, order) of ``record``: the report's generic row."""
        if record.get("density", 0) >= 1.0 - 1e-9 and not record.get("control"):
            return "dense", "", None
        series = str(record.get("method") or record.get("control") or "evaluation")
        for name in ("round", "sparsity", "target_density", "density"):
            if record.get(name) is not None:
                return series, f"{name} {record[name]}", record[name]
        return series, "", 0

    # One saved model -----------------------------------------------------------

    def run_stage(self, stage):
        """The stage's record, or None if its weights do not fit the run's model."""
        try:
            self._load(stage)
        except ValueError as error:
            # e.g. a layer-lottery ticket, physically smaller than the run's --model.
            self.log(f"{'/'.join(stage)}: skipped, its weights do not fit "
                     f"{self.run_config['model']}: {str(error).splitlines()[0]}")
            return None
        return self._evaluate(stage)

    def finish(self, stage, record):
        if record is not None:  # a skipped stage stays unfinished
            return super().finish(stage, record)
        return None

    def finished_stage(self, stage, record):
        if record.get("status") == DIVERGED:
            return self.log(f"{record['stage']:>20}: density {record['density']:.4f}  not "
                            f"measured: its training {outcome(record)}")
        self.log(f"{record['stage']:>20}: density {record['density']:.4f}  "
                 f"clean {record['clean_accuracy']:.4f}"
                 + "".join(f"  {n} {record[f'{n}_accuracy']:.4f}" for n in self.attacks)
                 + (f"  corruptions {record['mean_corruption_accuracy']:.4f}"
                    if self.config.corruptions else "")
                 + f"  ECE {record['ece']:.4f}")

    def _load(self, stage):
        self.evaluated.load_weights(self.network, "final", *stage)
        if self.evaluated.has(layout.MASKS, *stage):
            set_masks(self.network, self.evaluated.load_masks(*stage))

    def _evaluate(self, stage):
        """Measures the model loaded from ``stage``."""
        c = self.config
        model = self.network
        began = time.perf_counter()
        source = _scalars(self.evaluated.record(*stage))
        record = {"stage": "/".join(stage), **{k: source[k] for k in IDENTITY if k in source},
                  "density": density(model)}
        report = metrics.report(model)
        record.update({k: report[k] for k in MODEL_COSTS})
        if not finite_weights(model):  # a diverged training: its logits tell nothing
            record.update(status=DIVERGED,
                          diverged_at_iteration=source.get("diverged_at_iteration"),
                          evaluation_wall_time_s=time.perf_counter() - began, source=source)
            return record
        record.update(status=OK, diverged_at_iteration=None)
        probs = calibration.probabilities(model, self.inputs, c.batch_size)
        clean = calibration.calibration(probs, self.labels, c.calibration_bins)
        record.update({"clean_accuracy": clean["accuracy"], "ece": clean["ece"],
                       "nll": clean["nll"], "brier": clean["brier"]})
        for name, attack in self.attacks.items():
            record[f"{name}_accuracy"] = robustness.accuracy_under_attack(
                model, attack, self.inputs, self.labels, c.batch_size, c.seed)
        if c.corruptions:
            per_set = self._corruption_accuracies()
            record["mean_corruption_accuracy"] = float(np.mean(list(per_set.values())))
            for name in c.corruptions:
                record[f"{name}_accuracy"] = float(np.mean(
                    [per_set[f"{name}_{s}"] for s in c.severities]))
            record["corruption_accuracies"] = per_set
        initial = layout.weights("initial")
        if self.evaluated.has(initial, *stage):
            moved = distance.learning_distance(self.evaluated.file(initial, *stage), model,
                                               model=model)
            record["learning_distance"] = moved["global"]
            record["layer_learning_distances"] = moved["layers"]
        record["evaluation_wall_time_s"] = time.perf_counter() - began
        record["source"] = source
        return record

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
                    inputs, labels = corruption_lib.corrupt(
                        self.inputs, name, severity, self.pixels,
                        seed=corruption_seed(c.seed, i, severity),
                        batch_size=c.batch_size), self.labels
                out[f"{name}_{severity}"] = accuracy(self.network, inputs, labels, c.batch_size)
        return out
