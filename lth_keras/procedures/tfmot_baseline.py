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
subprocess (:mod:`lth_keras.baselines.tfmot_bridge`). It then loads the
worker's stripped weights and masks back into the Keras 3 zoo model, so
density, compression, test accuracy and the deployment sizes
(:mod:`lth_keras.deploy`) are measured by the same code as every lth_keras
run, and writes ``results.json`` with the shared writer. A run the worker
saw diverge is recorded ``diverged`` (:mod:`lth_keras.procedures.divergence`),
its accuracies None; IMP rounds skipped after a diverged round are not listed.
"""

import dataclasses
import math
import os
import sys

import keras
import numpy as np
import tensorflow as tf

from lth_keras import deploy, metrics
from lth_keras.baselines.tfmot_bridge import (SCHEDULES, load_by_layer, pruning_steps,
                                              run_worker, save_npz, training_order, twin_spec,
                                              weights_by_layer)
from lth_keras.baselines.tfmot_extra import require_extra
from lth_keras.models import build as build_model
from lth_keras.procedures.base import PROCEDURES, Procedure
from lth_keras.procedures.divergence import (SKIPPED, accuracy_text, measured,
                                             status)
from lth_keras.pruning.masks import density, layer_densities, set_masks
from lth_keras.reporting.plots import accuracy_vs_density
from lth_keras.runs import layout
from lth_keras.runs.config import RunConfig, field
from lth_keras.runs.files import replacing
from lth_keras.runs.results import read_results
from lth_keras.runs.validate import at_least, choice, distinct, positive, seed_list, useless
from lth_keras.runs.workdir import Workdir
from lth_keras.training.trainer import Trainer
from lth_keras.wrapping import strip, wrap

IMP_FIELDS = ("early_stop_iteration", "test_accuracy_at_early_stop", "test_accuracy", "test_loss",
              "iterations", "wall_time_s", "compression_ratio", "theoretical_speedup")


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
        distinct("densities", self.densities)
        for d in self.densities:
            if not 0.0 < d < 1.0:
                raise ValueError(f"--densities: expected fractions in (0, 1), got {d}.")
        distinct("pruning_schedules", self.pruning_schedules)
        for s in self.pruning_schedules:
            choice("pruning_schedules", s, SCHEDULES)
        seed_list("seeds", self.seeds)
        if not 0.0 <= self.pruning_begin < self.pruning_end <= 1.0:
            raise ValueError(
                f"--pruning_begin, --pruning_end: expected 0 <= begin < end <= 1, got "
                f"{self.pruning_begin} and {self.pruning_end}.")
        at_least("pruning_frequency", self.pruning_frequency, 1)
        positive("pruning_power", self.pruning_power)
        if self.strategy != "default":
            raise ValueError(f"--strategy: the TFMOT baseline trains in one tf_keras process; "
                             f"expected 'default', got '{self.strategy}'.")
        if self.augment:
            raise ValueError("--augment: the TFMOT worker trains on fixed arrays; augmentation "
                             "is not supported.")
        if self.imp_workdir and not os.path.isfile(os.path.join(self.imp_workdir, layout.RESULTS)):
            raise ValueError(f"--imp_workdir: no {layout.RESULTS} in '{self.imp_workdir}'.")

    def check_given(self, given):
        """Refuses --seed beside --seeds, and the polynomial schedule's options
        without that schedule."""
        super().check_given(given)
        if "seed" in self.changed(given) and self.seeds:
            useless("seed", "--seeds gives every run's seed", "put it in --seeds")
        for option in sorted({"pruning_end", "pruning_power"} & self.changed(given)):
            if "polynomial" not in self.pruning_schedules:
                useless(option, "only the polynomial schedule ramps sparsity up",
                        "add polynomial to --pruning_schedules")

    def run_seeds(self):
        return list(self.seeds) or [self.seed]


@PROCEDURES.register("tfmot_baseline")
class TfmotBaseline(Procedure):
    """Runs every (schedule, density, seed) cell: one stage each.

    A cell is finished when its ``record.json`` exists; the worker's outcome
    is kept, so a cell trained before an interruption is only measured.
    """

    config_class = TfmotConfig
    results_key = "runs"
    table = {
        "method": "", "round": "", "seed": "d", "target_density": "", "status": "", "density": ".4f",
        "test_accuracy": ".4f", "wall_time_s": ".1f", "total_wall_time_s": ".1f",
        "tflite_gzip_bytes": "d", "weights_gzip_bytes": "d", "dense_tflite_gzip_bytes": "d",
    }

    def setup(self):
        require_extra()
        config = self.config
        self._data = {}
        self.seeds = config.run_seeds()
        self.training_length(self.data(self.seeds[0]))
        self.spec = twin_spec(strip(self.initial_model(self.seeds[0])))
        self.begin_step, self.end_step, self.final_step = pruning_steps(config, self.iterations)
        self.imp = self._imp_run() if config.imp_workdir else None
        self._imp_records = None  # measured once, when first listed
        self.runs_writer = tf.summary.create_file_writer(self.tensorboard("runs"))
        self.cells = {layout.tfmot_cell(s, d, seed): (s, d, seed)
                      for s in config.pruning_schedules for d in config.densities
                      for seed in self.seeds}

    def data(self, seed):
        if seed not in self._data:
            self._data[seed] = self.load_data(seed=seed, augment=False)
        return self._data[seed]

    def initial_model(self, seed):
        """The masked zoo model at theta_0 of ``seed`` (as IMP builds it)."""
        data = self.data(seed)
        return build_model(self.config.model, data.input_shape, data.num_classes, seed=seed)

    def stages(self):
        return list(self.cells)

    def resolved(self):
        return {"resolved_iterations": self.iterations,
                "pruning_begin_step": self.begin_step, "pruning_end_step": self.end_step}

    # Stages -----------------------------------------------------------------

    def run(self):
        """Trains every unfinished cell in one worker process, then measures
        them in order (stopping as the base does under --stop_on_divergence)."""
        self.workdir.commit()
        stages = self.stages()
        for i, stage in enumerate(stages):  # a rerun of a stopped study trains nothing new
            if self.workdir.finished(*stage) and self.stops_at(stage, self.workdir.record(*stage)):
                stages = stages[:i]
                break
        todo = [s for s in stages if not self.workdir.finished(*s)]
        untrained = [s for s in todo if not self.workdir.has(layout.TFMOT_OUTCOME, *s)]
        failure = self._launch([self._write_job(s) for s in untrained]) if untrained else None
        for stage in todo:
            if self.workdir.has(layout.TFMOT_OUTCOME, *stage):
                if self.stops_at(stage, self.finish(stage, self.run_stage(stage))):
                    break
        self.save_results()
        if failure:
            raise RuntimeError(failure)
        return self.records()

    def _inputs(self, seed):
        """Writes (once) the data, training order and theta_0 of ``seed``."""
        stage = layout.tfmot_inputs(seed)
        paths = {"data": self.workdir.file(layout.TFMOT_DATA, *stage),
                 "initial": self.workdir.file(layout.TFMOT_INITIAL, *stage)}
        if not os.path.exists(paths["data"]):
            data = self.data(seed)
            order, ends = training_order(data, self.config.batch_size, seed, self.iterations)
            arrays = {"order": order, "batch_ends": ends}
            for split in ("train", "validation", "test"):
                arrays[f"x_{split}"], arrays[f"y_{split}"] = data.arrays(split)
            save_npz(paths["data"], arrays)
        if not os.path.exists(paths["initial"]):
            save_npz(paths["initial"], weights_by_layer(strip(self.initial_model(seed))))
        return paths

    def _learning_rates(self):
        """The learning rate of every iteration, from the Trainer's own schedule."""
        path = self.workdir.file(layout.TFMOT_LEARNING_RATES, *layout.tfmot_inputs())
        if not os.path.exists(path):
            schedule = Trainer(self.initial_model(self.seeds[0]), self.data(self.seeds[0]),
                               self.train_config).schedule()
            steps = np.arange(self.iterations)
            rates = np.broadcast_to(np.asarray(schedule(steps), np.float32), steps.shape)
            with replacing(path) as tmp:
                np.save(tmp, rates)
        return path

    def _write_job(self, stage):
        schedule, target, seed = self.cells[stage]
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
            "log_dir": self.tensorboard(*stage),
            "trained_weights": self.workdir.file(layout.TFMOT_TRAINED, *stage),
            "masks": self.workdir.file(layout.MASKS, *stage),
            "outcome": self.workdir.file(layout.TFMOT_OUTCOME, *stage),
        }
        self.workdir.save_json(job, layout.TFMOT_JOB, *stage)
        return self.workdir.file(layout.TFMOT_JOB, *stage)

    def _launch(self, jobs):
        """Runs the worker on ``jobs``; None, or what went wrong."""
        log_path = self.workdir.file(layout.WORKER_LOG)
        self.log(f"tfmot: training {len(jobs)} run(s) under tf_keras in a subprocess "
                 f"(its stderr: {log_path})")
        sys.stdout.flush()
        return run_worker(jobs, log_path)

    def _transplant(self, seed, stage):
        """The masked Keras 3 zoo model holding the worker's weights and masks of ``stage``."""
        plain = strip(self.initial_model(seed))
        with np.load(self.workdir.file(layout.TFMOT_TRAINED, *stage)) as arrays:
            load_by_layer(plain, arrays)
        model = wrap(plain)
        set_masks(model, self.workdir.load_masks(*stage))
        return model

    def _dense_sizes(self, seed):
        """Deployment sizes of the dense network at theta_0 (the reference)."""
        stage = layout.tfmot_inputs(seed)
        if not self.workdir.has(layout.TFMOT_DENSE_SIZES, *stage):
            self.workdir.save_json(deploy.compressed_sizes(strip(self.initial_model(seed))),
                                   layout.TFMOT_DENSE_SIZES, *stage)
        return self.workdir.load_json(layout.TFMOT_DENSE_SIZES, *stage)

    def run_stage(self, stage):
        """Measures a cell the worker trained, in Keras 3."""
        schedule, target, seed = self.cells[stage]
        outcome = self.workdir.load_json(layout.TFMOT_OUTCOME, *stage)
        model = self._transplant(seed, stage)
        model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"])
        keras3_accuracy = None  # a diverged model's logits tell nothing
        if status(outcome) == "ok":
            _, keras3_accuracy = model.evaluate(self.data(seed).test(self.config.batch_size),
                                                verbose=0)
        report = metrics.report(model)
        return {
            "method": f"tfmot_{schedule}",
            "target_density": target,
            "density": density(model),
            "seed": seed,
            **outcome,
            "total_wall_time_s": outcome["wall_time_s"],
            "test_accuracy_keras3": None if keras3_accuracy is None else float(keras3_accuracy),
            "compression_ratio": report["compression_ratio"],
            "theoretical_speedup": report["theoretical_speedup"],
            **deploy.beside(deploy.compressed_sizes(model), self._dense_sizes(seed)),
            "layer_densities": layer_densities(model),
        }

    def finished_stage(self, stage, record):
        # Test accuracy against density in TensorBoard, as IMP logs its rounds.
        if measured(record, "test_accuracy"):
            with self.runs_writer.as_default():
                tf.summary.scalar(f"{record['method']}/test_accuracy_vs_density_bp",
                                  record["test_accuracy"],
                                  step=int(round(record["density"] * 10000)))
            self.runs_writer.flush()
        self.log(f"{record['method']:>16}: density {record['density']:.4f}  seed {record['seed']}  "
                 f"{accuracy_text(record)}  "
                 f"gzip .tflite {record['tflite_gzip_bytes']} bytes")

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
        path = self.config.imp_workdir
        theirs = self.imp["config"]
        imp = Workdir.existing(path, "imp_workdir")
        tickets = sorted((r for r in self.imp["rounds"]
                          if not r.get("control") and status(r) != SKIPPED),
                         key=lambda r: r["round"])
        chosen = {0: None}
        for target in self.config.densities:
            nearest = min(tickets[1:] or tickets, key=lambda r: abs(r["density"] - target))
            chosen.setdefault(nearest["round"], target)
        seed = theirs["seed"]
        model = build_model(theirs["model"], self.data(seed).input_shape,
                            self.data(seed).num_classes, seed=seed)
        imp.load_weights(model, "initial", *layout.imp_round(0))
        dense = deploy.compressed_sizes(model)
        out = []
        for rnd, target in sorted(chosen.items()):
            record = next(r for r in tickets if r["round"] == rnd)
            imp.load_weights(model, "final", *layout.imp_round(rnd))
            set_masks(model, imp.load_masks(*layout.imp_round(rnd)))
            out.append({
                "method": "imp" if rnd else "dense",
                "target_density": target,
                "density": record["density"],
                "seed": seed,
                "round": rnd,
                "status": status(record),
                "diverged_at_iteration": record.get("diverged_at_iteration"),
                **{k: record[k] for k in IMP_FIELDS},
                "total_wall_time_s": sum(r["wall_time_s"] for r in tickets if r["round"] <= rnd),
                **deploy.beside(deploy.compressed_sizes(model), dense),
                "source": os.path.abspath(path),
            })
        return out

    # Results ----------------------------------------------------------------

    def records(self):
        """Finished cells in order, then the IMP records beside them (if any)."""
        out = super().records()
        if self.imp is not None:
            if self._imp_records is None:
                self._imp_records = self.imp_records()
            out += self._imp_records
        return out

    def write_figures(self, records):
        if records:
            accuracy_vs_density(records, self.figure("accuracy_vs_density"), group_by="method",
                                title=f"TFMOT baselines: {self.config.model} on {self.config.dataset}")

    @staticmethod
    def report_row(record):
        """(series, setting, order) of ``record``: the IMP dense round heads the
        table; TFMOT cells by target density, IMP tickets by round."""
        if record.get("density", 0) >= 1.0 - 1e-9:
            return "dense", "", None
        series = str(record.get("method"))
        for name in ("round", "sparsity", "target_density", "density"):
            if record.get(name) is not None:
                return series, f"{name} {record[name]}", record[name]
        return series, "", 0
