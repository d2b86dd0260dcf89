"""Pruning at initialization, random tickets and their sanity checks (Su et al.
2020, "Sanity-Checking Pruning Methods: Random Tickets can Win the Jackpot").

Every cell (method, sparsity, seed, sanity check) builds the network at the
seed's theta_0, takes the method's mask (found on the data the check asks
for), applies the check (rearranged mask, new weights), and trains it with the
shared :class:`~lth_keras.training.Trainer` for the chosen budget (Liu et al.
2019). Masks are stages of their own, found once per (method, sparsity, seed,
data) just before the first cell that trains them and reused by every other.
Each seed's dense network trains first, as the reference row (``--nodense``
skips it). No cell needs another's training, so a cell that diverges
(:mod:`lth_keras.procedures.divergence`) is recorded ``diverged`` and the
others train as usual; the summary over seeds averages the cells that
could be measured and counts the diverged ones.
"""

import dataclasses
import os
import time

import keras
import numpy as np
import tensorflow as tf

from lth_keras import metrics
from lth_keras.callbacks.summaries import SparsitySummaries
from lth_keras.models import build as build_model
from lth_keras.procedures.base import PROCEDURES, Procedure
from lth_keras.procedures.divergence import DIVERGED, outcome, status
from lth_keras.pruning import sanity as sanity_lib
from lth_keras.pruning.at_init import DATA_FREE, EXAMPLES_PER_CLASS, METHODS, prune_at_init
from lth_keras.pruning.masks import density, get_masks, jaccard, layer_densities
from lth_keras.pruning.saliency.synflow import ITERATIONS
from lth_keras.reporting.plots import accuracy_vs_sparsity, layer_density_profiles
from lth_keras.reporting.tables import write_summary_tables
from lth_keras.runs import layout
from lth_keras.runs.config import RunConfig, field
from lth_keras.runs.results import format_table, summarize
from lth_keras.runs.seeds import stage_seed
from lth_keras.runs.validate import choice, distinct, positive, seed_list, useless
from lth_keras.training.budgets import BUDGETS, training_budget

SUMMARY_KEYS = ("method", "sparsity", "sanity")
SUMMARY_TABLE = {"method": "", "sparsity": "g", "sanity": "", "seeds": "d", "diverged": "d",
                 "test_accuracy_mean": ".4f", "test_accuracy_std": ".4f",
                 "test_accuracy_at_early_stop_mean": ".4f", "density_mean": ".4f"}
# summary.md: (field, header, format) as they are, then (measure, header) in percent.
SUMMARY_COLUMNS = (("method", "method", ""), ("sparsity", "sparsity", "g"),
                   ("sanity", "sanity", ""), ("seeds", "seeds", ""),
                   ("diverged", "diverged", ""))
SUMMARY_MEASURES = (("test_accuracy", "test accuracy (%)"),
                    ("test_accuracy_at_early_stop", "at early stop (%)"))
# The method name of the unpruned reference cells.
DENSE = "dense"
# The TensorBoard run (and tag prefix) of the per-layer density profiles.
PROFILE = layout.DENSITY_PROFILE_LOGS
# The salt of a cell's sanity-check perturbation (rearrange, reinit, shuffle).
CHECK_SALT = 17


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
        distinct("methods", self.methods)
        for m in self.methods:
            choice("methods", m, METHODS)
        distinct("sparsities", self.sparsities)
        for s in self.sparsities:
            if not 0.0 < s < 1.0:
                raise ValueError(f"--sparsities: expected fractions in (0, 1), got {s}.")
        seed_list("seeds", self.seeds, nonempty=True)
        distinct("sanity", self.sanity)
        for s in self.sanity:
            choice("sanity", s, sanity_lib.SANITY_CHECKS)
        choice("budget", self.budget, BUDGETS)
        if self.budget_max_factor != 0.0 and self.budget_max_factor < 1.0:
            raise ValueError("--budget_max_factor: expected 0 (no cap) or >= 1, "
                             f"got {self.budget_max_factor}.")
        if self.budget_max_factor and self.budget != "scratch_b":
            useless("budget_max_factor", f"only --budget=scratch_b scales the training length, "
                    f"not --budget={self.budget}", "add --budget=scratch_b or drop it")
        positive("examples_per_class", self.examples_per_class)
        positive("grasp_temperature", self.grasp_temperature)
        positive("synflow_iterations", self.synflow_iterations)

    def check_given(self, given):
        """Refuses a method's option when that method is not compared."""
        super().check_given(given)
        changed = self.changed(given)
        for option, methods in (("examples_per_class", ("snip", "grasp")),
                                ("grasp_temperature", ("grasp",)),
                                ("synflow_iterations", ("synflow",))):
            if option in changed and not set(methods) & set(self.methods):
                useless(option, f"it is an option of {' and '.join(methods)}, and --methods="
                        f"{','.join(self.methods)} has none of them",
                        f"add {methods[0]} to --methods or drop --{option}")

    def method_options(self, method):
        """The options ``prune_at_init`` gets for ``method``."""
        return {
            "snip": {"examples_per_class": self.examples_per_class},
            "grasp": {"examples_per_class": self.examples_per_class,
                      "temperature": self.grasp_temperature},
            "synflow": {"iterations": self.synflow_iterations},
        }.get(method, {})


@PROCEDURES.register("prune_at_init")
class PruneAtInit(Procedure):
    """Every (method, sparsity, seed, sanity) cell, each mask found once."""

    config_class = PruneAtInitConfig
    results_key = "cells"
    table = {
        "method": "", "sparsity": "g", "seed": "d", "sanity": "", "status": "", "density": ".4f",
        "test_accuracy": ".4f", "test_accuracy_at_early_stop": ".4f", "wall_time_s": ".1f",
    }

    def setup(self):
        config = self.config
        self.data = self.load_data()
        self.training_length(self.data)
        self._scoring_data = {}
        self._initial = {}
        self._profile_writers = {}
        self._plan = self._make_plan()
        # Data-dependent methods fail here, before any work, if a class is too small.
        if any(m not in DATA_FREE for m in config.methods):
            for check in config.sanity:
                try:
                    self._scoring(check, config.seeds[0]).balanced_batch(config.examples_per_class, 0)
                except ValueError as error:
                    raise ValueError(f"--examples_per_class: {error}") from None
        with self.strategy.scope():
            self.model = build_model(config.model, self.data.input_shape, self.data.num_classes,
                                     seed=config.seeds[0])
        self.trainer = self.trainer_for(self.model)

    # Stages -------------------------------------------------------------------

    def cells(self):
        """Every cell in run order: seed (its dense reference first), then
        sparsity, then method, then check."""
        c = self.config
        dense = [(DENSE, 0.0, "none")] if c.dense else []
        return [(m, s, seed, check) for seed in c.seeds
                for m, s, check in dense + [(m, s, check) for s in c.sparsities
                                            for m in c.methods for check in c.sanity]]

    def _found_on(self, method, check):
        """The data a mask is found on: ``clean``, or the check whose variant it is."""
        if method in DATA_FREE or not sanity_lib.get(check).data_options:
            return "clean"
        return check

    def _make_plan(self):
        """Stage -> what it is: each mask stage just before the first cell it serves."""
        plan = {}
        for method, sparsity, seed, check in self.cells():
            if method != DENSE:
                found_on = self._found_on(method, check)
                mask = layout.prune_at_init_mask(method, sparsity, seed, found_on)
                plan.setdefault(mask, ("mask", method, sparsity, seed, found_on))
            cell = layout.prune_at_init_cell(method, sparsity, seed, check)
            plan[cell] = ("cell", method, sparsity, seed, check)
        return plan

    def stages(self):
        return list(self._plan)

    def is_result(self, stage):
        return self._plan[stage][0] == "cell"

    def run_stage(self, stage):
        kind, *cell = self._plan[stage]
        return self._find_mask(stage, *cell) if kind == "mask" else self._cell(stage, *cell)

    def _theta_0(self, seed):
        """The dense network's weights at seed's initialization (masks all ones)."""
        if seed not in self._initial:
            template = build_model(self.config.model, self.data.input_shape,
                                   self.data.num_classes, seed=seed)
            self._initial[seed] = template.get_weights()
        return self._initial[seed]

    def _scoring(self, check, seed):
        """The data a mask is found on: the clean data or a check's variant of it."""
        options = sanity_lib.get(check).data_options
        if not options:
            return self.data
        if (check, seed) not in self._scoring_data:
            self._scoring_data[check, seed] = self.load_data(seed=seed, **options)
        return self._scoring_data[check, seed]

    def _find_mask(self, stage, method, sparsity, seed, found_on):
        began = time.perf_counter()
        self.model.set_weights(self._theta_0(seed))
        keras.utils.set_random_seed(seed)
        data = self.data if found_on == "clean" else self._scoring(found_on, seed)
        masks = prune_at_init(self.model, method, sparsity, data, seed,
                              **self.config.method_options(method))
        self.workdir.save_masks(masks, *stage)
        return {"found_on": found_on, "prune_time_s": time.perf_counter() - began,
                "density": density(masks)}

    def _cell(self, stage, method, sparsity, seed, check_name):
        began = time.perf_counter()
        check = sanity_lib.get(check_name)
        if method == DENSE:
            found = {path: np.ones_like(m) for path, m in get_masks(self.model).items()}
            found_record = {"found_on": "none", "prune_time_s": 0.0}
        else:
            mask = layout.prune_at_init_mask(method, sparsity, seed,
                                             self._found_on(method, check_name))
            found, found_record = self.workdir.load_masks(*mask), self.workdir.record(*mask)
        masks = sanity_lib.start_weights(self.model, self._theta_0(seed), found, check,
                                         stage_seed(seed, 0, CHECK_SALT))
        self.workdir.save_masks(masks, *stage)
        self.workdir.save_weights(self.model, "initial", *stage)
        config = training_budget(self.config.budget, self.train_config, self.model,
                                 self.config.budget_max_factor or None)
        trainer = self.trainer if config is self.train_config else self.trainer_for(
            self.model, config)
        log_dir = self.tensorboard(*stage[1:])
        keras.utils.set_random_seed(seed)
        record = trainer.fit(start=0, data_seed=seed, log_dir=log_dir,
                             callbacks=[SparsitySummaries(log_dir)])
        report = metrics.report(self.model)
        self.workdir.save_weights(self.model, "final", *stage)
        return {
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

    # Results ------------------------------------------------------------------

    def run(self):
        """The base's run, then the summary over seeds in the log."""
        records = super().run()
        self.log(format_table(self.summary(), SUMMARY_TABLE))
        return records

    def finished_stage(self, stage, record):
        if not self.is_result(stage):
            return
        self._density_profile(record)
        accuracy = record["test_accuracy"]
        result = outcome(record) if accuracy is None else f"test accuracy {accuracy:.4f}"
        self.log(f"{record['method']:>13} sparsity {record['sparsity']:g} seed {record['seed']} "
                 f"{record['sanity']:>15}: density {record['density']:.4f}  {result}  "
                 f"({record['cell_wall_time_s']:.0f} s)")

    def _density_profile(self, record):
        """TensorBoard scalars density_profile/<method>_<sparsity>[_<check>], step = layer index."""
        seed = record["seed"]
        if seed not in self._profile_writers:
            path = os.path.join(self.tensorboard(PROFILE), layout.seed_folder(seed))
            self._profile_writers[seed] = tf.summary.create_file_writer(path)
        writer = self._profile_writers[seed]
        tag = f"{PROFILE}/{record['method']}_{record['sparsity']:g}"
        if record["sanity"] != "none":
            tag += f"_{record['sanity']}"
        with writer.as_default():
            for i, value in enumerate(record["layer_densities"].values()):
                tf.summary.scalar(tag, value, step=i)
            tf.summary.text(f"{PROFILE}/layers",
                            " | ".join(f"{i}: {p}" for i, p in enumerate(record["layer_densities"])),
                            step=0)
        writer.flush()

    def summary(self, records=None):
        """Mean and sample std (ddof 1) over seeds of each (method, sparsity,
        sanity), of the cells that measured them; ``diverged`` counts the others."""
        records = self.records() if records is None else records
        rows = summarize(records, SUMMARY_KEYS,
                         ("test_accuracy", "test_accuracy_at_early_stop", "density"))
        for row in rows:
            row["diverged"] = sum(status(r) == DIVERGED for r in records
                                  if all(r[k] == row[k] for k in SUMMARY_KEYS))
        return rows

    def write_figures(self, records):
        """summary.csv/md, accuracy_vs_sparsity.png and density_profiles.png."""
        rows = self.summary(records)
        write_summary_tables(rows, self.workdir.path, SUMMARY_COLUMNS, SUMMARY_MEASURES)
        reference = next((r for r in rows if r["method"] == DENSE), None)
        if len(rows) <= (reference is not None):
            return
        title = f"{self.config.model} on {self.config.dataset}"
        accuracy_vs_sparsity([r for r in rows if r is not reference],
                             self.figure("accuracy_vs_sparsity"), title=title,
                             reference=reference)
        profiles = {(r["sparsity"], r["method"]): r["layer_densities"] for r in records
                    if r["seed"] == self.config.seeds[0] and r["sanity"] == "none"
                    and r["method"] != DENSE}
        if profiles:
            layer_density_profiles(profiles, self.figure(layout.DENSITY_PROFILES_FIGURE),
                                   title=f"layer densities: {title}")

    @staticmethod
    def report_row(record):
        """(series, setting, order) of ``record`` in the report; the dense cells head it."""
        if record["method"] == DENSE:
            return "dense", "", None
        series = str(record["method"])
        if record.get("sanity") not in (None, "", "none"):
            series += f" ({record['sanity']})"
        return series, f"sparsity {record['sparsity']}", record["sparsity"]
