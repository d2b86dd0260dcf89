"""Pruning at initialization, random tickets and their sanity checks.

Every cell (method, sparsity, seed, sanity check) builds the network at the
seed's theta_0, finds the method's mask (on the data the check asks for),
applies the check (rearranged mask, new weights), and trains it with the
shared :class:`~lth_keras.training.Trainer` for the chosen budget. Cells are
stages of one :class:`~lth_keras.runs.Workdir`; rerunning the command skips
finished ones. Masks are found once per (method, sparsity, seed, data) and
reused by every check that trains them (Su et al. 2020). Each seed's dense
network trains first, as the reference row (``--nodense`` skips it).
"""

import dataclasses
import os
import time

import keras
import numpy as np
import tensorflow as tf

from lth_keras import metrics
from lth_keras.analysis.plots import accuracy_vs_sparsity, layer_density_profiles
from lth_keras.callbacks.summaries import SparsitySummaries
from lth_keras.data import load as load_data
from lth_keras.lottery import sanity as sanity_lib
from lth_keras.lottery.imp import resolve_iterations
from lth_keras.models import build as build_model
from lth_keras.pruning.at_init import DATA_FREE, EXAMPLES_PER_CLASS, METHODS, prune_at_init
from lth_keras.pruning.masks import density, get_masks, jaccard, layer_densities
from lth_keras.pruning.saliency.synflow import ITERATIONS
from lth_keras.runs.config import RunConfig, _choice, _positive, field
from lth_keras.runs.experiment import procedure
from lth_keras.runs.results import format_table, summarize, write_results
from lth_keras.training.budgets import BUDGETS, training_budget
from lth_keras.training.trainer import Trainer

SUMMARY_KEYS = ("method", "sparsity", "sanity")
# The method name of the unpruned reference cells.
DENSE = "dense"


@dataclasses.dataclass
class PruneAtInitConfig(RunConfig):
    """Flags of the pruning-at-initialization experiment (Su et al. 2020's grid)."""

    seed: int = field(0, "Seed of the dataset (synthetic data, label noise); cells use --seeds.")
    methods: list = field(list(METHODS), f"Methods to compare, any of {list(METHODS)}.")
    sparsities: list = field([0.9, 0.95, 0.98], "Fractions of prunable weights removed.", item=float)
    seeds: list = field([0, 1, 2], "Seeds of theta_0, of the mask and of the data order.", item=int)
    sanity: list = field(["none"], f"Sanity checks per cell, any of {list(sanity_lib.SANITY_CHECKS)}.")
    budget: str = field("standard", f"Training budget, one of {BUDGETS} (Liu et al. 2019).")
    budget_max_factor: float = field(
        0.0, "Cap of the scratch_b factor (0: none; Liu et al.: 2 on ImageNet).")
    examples_per_class: int = field(
        EXAMPLES_PER_CLASS, "SNIP/GraSP: training examples per class scored.")
    grasp_temperature: float = field(200.0, "GraSP: logits are divided by this temperature.")
    synflow_iterations: int = field(ITERATIONS, "SynFlow: pruning rounds of its exponential schedule.")
    dense: bool = field(True, "Also train each seed's dense network: the reference row.")

    def validate(self):
        super().validate()
        _nonempty_unique("methods", self.methods)
        for m in self.methods:
            _choice("methods", m, METHODS)
        _nonempty_unique("sparsities", self.sparsities)
        for s in self.sparsities:
            if not 0.0 < s < 1.0:
                raise ValueError(f"--sparsities: expected fractions in (0, 1), got {s}.")
        _nonempty_unique("seeds", self.seeds)
        for s in self.seeds:
            if s < 0:
                raise ValueError(f"--seeds: expected seeds >= 0, got {s}.")
        _nonempty_unique("sanity", self.sanity)
        for s in self.sanity:
            _choice("sanity", s, sanity_lib.SANITY_CHECKS)
        _choice("budget", self.budget, BUDGETS)
        if self.budget_max_factor != 0.0 and self.budget_max_factor < 1.0:
            raise ValueError("--budget_max_factor: expected 0 (no cap) or >= 1, "
                             f"got {self.budget_max_factor}.")
        _positive("examples_per_class", self.examples_per_class)
        _positive("grasp_temperature", self.grasp_temperature)
        _positive("synflow_iterations", self.synflow_iterations)

    def method_options(self, method):
        """The options ``prune_at_init`` gets for ``method``."""
        return {
            "snip": {"examples_per_class": self.examples_per_class},
            "grasp": {"examples_per_class": self.examples_per_class,
                      "temperature": self.grasp_temperature},
            "synflow": {"iterations": self.synflow_iterations},
        }.get(method, {})


def _nonempty_unique(flag, values):
    if not values:
        raise ValueError(f"--{flag}: expected at least one value.")
    repeated = sorted({str(v) for v in values if values.count(v) > 1})
    if repeated:
        raise ValueError(f"--{flag}: {', '.join(repeated)} given more than once.")


def _check_seed(seed):
    """The seed of a cell's sanity-check perturbation (rearrange, reinit, shuffle)."""
    return int(seed) * 1_000_003 + 17


@procedure("prune_at_init")
class PruneAtInit:
    """Runs every (method, sparsity, seed, sanity) cell into a :class:`Workdir`."""

    def __init__(self, config, workdir, strategy=None, log=print):
        self.config = config
        self.workdir = workdir
        self.strategy = strategy or tf.distribute.get_strategy()
        self.log = log
        self.data = self._load(config.seed)
        self.iterations = resolve_iterations(config, self.data)
        self.train_config = dataclasses.replace(config, iterations=self.iterations)
        self._scoring_data = {}
        self._initial = {}
        # Data-dependent methods fail here, before any work, if a class is too small.
        if any(m not in DATA_FREE for m in config.methods):
            for check in self._checks():
                try:
                    self._scoring(check, config.seeds[0]).balanced_batch(config.examples_per_class, 0)
                except ValueError as error:
                    raise ValueError(f"--examples_per_class: {error}") from None
        with self.strategy.scope():
            self.model = build_model(config.model, self.data.input_shape, self.data.num_classes,
                                     seed=config.seeds[0])
        self.trainer = Trainer(self.model, self.data, self.train_config, self.strategy)
        self.tensorboard = workdir.stage("tensorboard")
        self._profile_writers = {}

    def _load(self, seed, **options):
        c = self.config
        return load_data(c.dataset, data_dir=c.data_dir or None, seed=seed,
                         label_noise=c.label_noise, augment=c.augment, **options)

    def _checks(self):
        return [sanity_lib.get(name) for name in self.config.sanity]

    # Cells --------------------------------------------------------------------

    def cells(self):
        """Every cell in run order: seed (its dense reference first), then
        sparsity, then method, then check."""
        c = self.config
        dense = [(DENSE, 0.0, "none")] if c.dense else []
        return [(m, s, seed, check) for seed in c.seeds
                for m, s, check in dense + [(m, s, check) for s in c.sparsities
                                            for m in c.methods for check in c.sanity]]

    def run(self):
        for cell in self.cells():
            self._cell(*cell)
        self.save_results()
        self.log(format_table(self.summary(), _SUMMARY_TABLE))
        return self.records()

    @staticmethod
    def stage(method, sparsity, seed, check):
        return ("cells", method, f"sparsity_{sparsity:g}", f"seed_{seed}", check)

    def _theta_0(self, seed):
        """The dense network's weights at seed's initialization (masks all ones)."""
        if seed not in self._initial:
            template = build_model(self.config.model, self.data.input_shape,
                                   self.data.num_classes, seed=seed)
            self._initial[seed] = template.get_weights()
        return self._initial[seed]

    def _scoring(self, check, seed):
        """The data a mask is found on: the clean data or a check's variant of it."""
        if not check.data_options:
            return self.data
        key = (check.name, seed)
        if key not in self._scoring_data:
            self._scoring_data[key] = self._load(seed, **check.data_options)
        return self._scoring_data[key]

    def _find_mask(self, method, sparsity, seed, check):
        """The method's mask; found once per (method, sparsity, seed, data)."""
        variant = "clean" if (method in DATA_FREE or not check.data_options) else check.name
        stage = ("masks", method, f"sparsity_{sparsity:g}", f"seed_{seed}", variant)
        if self.workdir.finished(*stage):
            return self.workdir.load_masks(*stage), self.workdir.record(*stage)
        began = time.perf_counter()
        self.model.set_weights(self._theta_0(seed))
        keras.utils.set_random_seed(seed)
        data = self._scoring(check, seed) if variant != "clean" else self.data
        masks = prune_at_init(self.model, method, sparsity, data, seed,
                              **self.config.method_options(method))
        record = {"found_on": variant, "prune_time_s": time.perf_counter() - began,
                  "density": density(masks)}
        self.workdir.save_masks(masks, *stage)
        self.workdir.finish(record, *stage)
        return masks, record

    def _cell(self, method, sparsity, seed, check_name):
        stage = self.stage(method, sparsity, seed, check_name)
        if self.workdir.finished(*stage):
            return
        began = time.perf_counter()
        check = sanity_lib.get(check_name)
        if method == DENSE:
            found = {path: np.ones_like(m) for path, m in get_masks(self.model).items()}
            found_record = {"found_on": "none", "prune_time_s": 0.0}
        else:
            found, found_record = self._find_mask(method, sparsity, seed, check)
        masks = sanity_lib.start_weights(self.model, self._theta_0(seed), found, check,
                                         _check_seed(seed))
        self.workdir.save_masks(masks, *stage)
        self.workdir.save_weights(self.model, "initial", *stage)
        config = training_budget(self.config.budget, self.train_config, self.model,
                                 self.config.budget_max_factor or None)
        trainer = self.trainer if config is self.train_config else Trainer(
            self.model, self.data, config, self.strategy)
        name = "_".join(str(p) for p in stage[1:])
        log_dir = f"{self.tensorboard}/{name}"
        keras.utils.set_random_seed(seed)
        record = trainer.fit(start=0, data_seed=seed, log_dir=log_dir,
                             callbacks=[SparsitySummaries(log_dir)])
        report = metrics.report(self.model)
        record = {
            "method": method, "sparsity": sparsity, "seed": seed, "sanity": check_name,
            "budget": self.config.budget,
            "density": density(self.model),
            **record,
            "training_iterations": config.iterations,
            "found_on": found_record["found_on"],
            "prune_time_s": found_record["prune_time_s"],
            "mask_jaccard": jaccard(found, masks),
            "compression_ratio": report["compression_ratio"],
            "theoretical_speedup": report["theoretical_speedup"],
            "cell_wall_time_s": time.perf_counter() - began,
            "layer_densities": layer_densities(self.model),
        }
        self.workdir.save_weights(self.model, "final", *stage)
        self.workdir.finish(record, *stage)
        self._density_profile(record)
        self.save_results()
        self.log(f"{method:>13} sparsity {sparsity:g} seed {seed} {check_name:>15}: "
                 f"density {record['density']:.4f}  test accuracy {record['test_accuracy']:.4f}  "
                 f"({record['cell_wall_time_s']:.0f} s)")

    def _density_profile(self, record):
        """TensorBoard scalars density_profile/<method>_<sparsity>[_<check>], step = layer index."""
        seed = record["seed"]
        if seed not in self._profile_writers:
            path = f"{self.tensorboard}/density_profile/seed_{seed}"
            self._profile_writers[seed] = tf.summary.create_file_writer(path)
        writer = self._profile_writers[seed]
        tag = f"density_profile/{record['method']}_{record['sparsity']:g}"
        if record["sanity"] != "none":
            tag += f"_{record['sanity']}"
        with writer.as_default():
            for i, value in enumerate(record["layer_densities"].values()):
                tf.summary.scalar(tag, value, step=i)
            tf.summary.text("density_profile/layers",
                            " | ".join(f"{i}: {p}" for i, p in enumerate(record["layer_densities"])),
                            step=0)
        writer.flush()

    # Results ------------------------------------------------------------------

    def records(self):
        """Every finished cell's record, in run order."""
        stages = [self.stage(*cell) for cell in self.cells()]
        return [self.workdir.record(*s) for s in stages if self.workdir.finished(*s)]

    def full_config(self):
        return {**self.config.to_dict(), "resolved_iterations": self.iterations,
                "replicas": self.strategy.num_replicas_in_sync}

    def summary(self):
        """Mean and sample std (ddof 1) over seeds of each (method, sparsity, sanity)."""
        return summarize(self.records(), SUMMARY_KEYS,
                         ("test_accuracy", "test_accuracy_at_early_stop", "density"))

    def save_results(self):
        """results.json/csv, summary.md/csv and the plots, from the finished cells."""
        records = self.records()
        path = self.workdir.path
        write_results(path, self.full_config(), records, "cells")
        rows = self.summary()
        _write_summary(rows, path)
        reference = next((r for r in rows if r["method"] == DENSE), None)
        if len(rows) > (reference is not None):
            title = f"{self.config.model} on {self.config.dataset}"
            accuracy_vs_sparsity([r for r in rows if r is not reference],
                                 os.path.join(path, "accuracy_vs_sparsity.png"), title=title,
                                 reference=reference)
            profiles = {(r["sparsity"], r["method"]): r["layer_densities"] for r in records
                        if r["seed"] == self.config.seeds[0] and r["sanity"] == "none"
                        and r["method"] != DENSE}
            if profiles:
                layer_density_profiles(profiles, os.path.join(path, "density_profiles.png"),
                                       title=f"layer densities: {title}")


_SUMMARY_TABLE = {"method": "", "sparsity": "g", "sanity": "", "seeds": "d",
                  "test_accuracy_mean": ".4f", "test_accuracy_std": ".4f",
                  "test_accuracy_at_early_stop_mean": ".4f", "density_mean": ".4f"}


def _write_summary(rows, path):
    """summary.csv and summary.md (accuracy as mean +- std in percent)."""
    import csv

    columns = list(rows[0]) if rows else list(SUMMARY_KEYS)
    with open(os.path.join(path, "summary.csv.tmp"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(os.path.join(path, "summary.csv.tmp"), os.path.join(path, "summary.csv"))

    def pm(row, name):
        mean, std = row[f"{name}_mean"], row[f"{name}_std"]
        if mean is None:
            return "-"
        return f"{100 * mean:.2f}" + ("" if std is None else f" ± {100 * std:.2f}")

    lines = ["| method | sparsity | sanity | seeds | test accuracy (%) | at early stop (%) |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {r['method']} | {r['sparsity']:g} | {r['sanity']} | {r['seeds']} | "
              f"{pm(r, 'test_accuracy')} | {pm(r, 'test_accuracy_at_early_stop')} |" for r in rows]
    with open(os.path.join(path, "summary.md.tmp"), "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(os.path.join(path, "summary.md.tmp"), os.path.join(path, "summary.md"))
