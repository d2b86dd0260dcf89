"""Lottery tickets by iterative magnitude pruning (IMP) with rewinding.

Round 0 trains the dense network from theta_0 and captures theta_k. Each
later round prunes ``prune_rate`` of the remaining weights of the previous
round's trained network, then retrains the survivors by one of:

- ``rewind``: from theta_k (k = 0: Frankle & Carbin 2019; k > 0: Frankle et
  al. 2020), with the schedule replayed from iteration k;
- ``lr_rewind``: from the trained weights, with the schedule replayed from
  iteration k (Renda et al. 2020);
- ``finetune``: from the trained weights at the final learning rate.

Controls train on the masks the tickets found: ``reinit`` (same mask, fresh
initialisation), ``shuffle`` (each layer's mask permuted) and ``random_prune``
(a random mask with the same per-layer densities, drawn by the pruner).
"""

import dataclasses
import time

import keras
import numpy as np
import tensorflow as tf

from lth_keras import metrics
from lth_keras.analysis.plots import accuracy_vs_density
from lth_keras.callbacks.rewind import RewindPoint
from lth_keras.callbacks.summaries import SparsitySummaries
from lth_keras.models import build as build_model
from lth_keras.pruning import criteria
from lth_keras.pruning.masks import (
    density, get_masks, jaccard, layer_densities, reinitialize, set_masks, shuffle_masks)
from lth_keras.pruning.pruner import SCOPES, prune
from lth_keras.runs.config import RunConfig, _choice, _fraction, field
from lth_keras.runs.experiment import procedure
from lth_keras.runs.results import write_results
from lth_keras.training.trainer import Trainer

RETRAIN_MODES = ("rewind", "lr_rewind", "finetune")
CONTROLS = ("reinit", "shuffle", "random_prune")


@dataclasses.dataclass
class ImpConfig(RunConfig):
    """IMP's flags. Defaults: Frankle & Carbin 2019's LeNet-300-100 (fc 20%,
    output 10%, layerwise, rewind to theta_0) on the bundled mnist5k."""

    rounds: int = field(8, "Pruning rounds after the dense round 0.")
    prune_rate: float = field(0.2, "Fraction of the remaining weights pruned per round.")
    prune_rate_conv: float = field(-1.0, "Per-round rate of conv layers (-1: --prune_rate).")
    prune_rate_dense: float = field(-1.0, "Per-round rate of hidden dense layers (-1: --prune_rate).")
    prune_rate_output: float = field(-1.0, "Per-round rate of the output layer (-1: half of --prune_rate).")
    scope: str = field("layerwise", f"Pruning scope, one of {SCOPES}.")
    retrain: str = field("rewind", f"How survivors are retrained, one of {RETRAIN_MODES}.")
    rewind_iteration: int = field(0, "k: the iteration rewound to (0: theta_0).")
    rewind_optimizer_state: bool = field(False, "Rewind the optimizer state with the weights.")
    controls: list = field(["reinit"], f"Controls per round, any of {CONTROLS} (empty: none).")

    def validate(self):
        super().validate()
        if self.rounds < 0:
            raise ValueError(f"--rounds: expected >= 0, got {self.rounds}.")
        _fraction("prune_rate", self.prune_rate)
        for kind in ("conv", "dense", "output"):
            rate = getattr(self, f"prune_rate_{kind}")
            if rate != -1.0:
                _fraction(f"prune_rate_{kind}", rate)
        _choice("scope", self.scope, SCOPES)
        _choice("retrain", self.retrain, RETRAIN_MODES)
        for control in self.controls:
            _choice("controls", control, CONTROLS)
        if self.rewind_iteration < 0:
            raise ValueError(f"--rewind_iteration: expected >= 0, got {self.rewind_iteration}.")
        if self.iterations and self.rewind_iteration >= self.iterations:
            raise ValueError(
                f"--rewind_iteration: {self.rewind_iteration} is past the end of training "
                f"(--iterations={self.iterations})."
            )

    def prune_rates(self):
        """The per-kind amounts handed to :func:`lth_keras.prune`."""
        pick = lambda v, default: default if v == -1.0 else v  # noqa: E731
        return {
            "conv": pick(self.prune_rate_conv, self.prune_rate),
            "dense": pick(self.prune_rate_dense, self.prune_rate),
            "output": pick(self.prune_rate_output, self.prune_rate / 2),
        }


def resolve_iterations(config, data):
    """Total training iterations: ``--iterations``, or ``--epochs`` of the data
    rounded to whole evaluation periods (so compiled steps stay long)."""
    if config.iterations:
        return config.iterations
    steps_per_epoch = -(-data.num_train // config.batch_size)
    periods = max(1, int(round(config.epochs * steps_per_epoch / config.eval_every)))
    return periods * config.eval_every


def _seed(config, round_index, salt):
    """Seeds of one stage, derived from --seed and recorded in its record."""
    return int(config.seed) * 1_000_003 + round_index * 1_009 + salt


@procedure("imp")
class IMP:
    """The IMP driver: runs rounds and controls into a :class:`Workdir`.

    Each stage starts from what earlier stages saved to disk, so an
    interrupted run that is started again computes exactly what an
    uninterrupted one does.
    """

    def __init__(self, config, workdir, strategy=None, log=print):
        self.config = config
        self.workdir = workdir
        self.strategy = strategy or tf.distribute.get_strategy()
        self.log = log
        self.data = config.load_data()
        self.iterations = resolve_iterations(config, self.data)
        if config.rewind_iteration >= self.iterations:
            raise ValueError(
                f"--rewind_iteration: {config.rewind_iteration} is past the end of training "
                f"({self.iterations} iterations)."
            )
        with self.strategy.scope():
            self.model = build_model(config.model, self.data.input_shape, self.data.num_classes,
                                     seed=config.seed)
        train_config = dataclasses.replace(config, iterations=self.iterations)
        self.trainer = Trainer(self.model, self.data, train_config, self.strategy)
        self.tensorboard = workdir.stage("tensorboard")
        self.rounds_writer = tf.summary.create_file_writer(f"{self.tensorboard}/rounds")

    # Stages -----------------------------------------------------------------

    def run(self):
        """Runs every unfinished stage and returns all records in order."""
        self._dense_round()
        for r in range(1, self.config.rounds + 1):
            self._ticket_round(r)
            for control in self.config.controls:
                self._control(r, control)
            self.save_results()
        self.save_results()
        return self.records()

    def full_config(self):
        """The configuration as run: every flag, the resolved iteration count."""
        return {**self.config.to_dict(), "resolved_iterations": self.iterations,
                "replicas": self.strategy.num_replicas_in_sync}

    def save_results(self):
        """results.json, results.csv and the accuracy-against-density plot."""
        records = self.records()
        write_results(self.workdir.path, self.full_config(), records, "rounds")
        named = [{**r, "control": r["control"] or "ticket"} for r in records]
        accuracy_vs_density(named, f"{self.workdir.path}/accuracy_vs_density.png",
                            group_by="control", title=f"IMP: {self.config.model} on {self.config.dataset}")

    def _train(self, name, round_index, start, salt):
        keras.utils.set_random_seed(_seed(self.config, round_index, salt))
        log_dir = f"{self.tensorboard}/{name}"
        constant = None
        if self.config.retrain == "finetune":
            constant = self.trainer.schedule().at(self.iterations)
        optimizer_state = None
        if self.config.rewind_optimizer_state and self.config.retrain == "rewind":
            optimizer_state = self.workdir.load_arrays("rewind_optimizer", "round_00")
        return self.trainer.fit(start=start, data_seed=self.config.seed,
                                constant_learning_rate=constant, log_dir=log_dir,
                                callbacks=[SparsitySummaries(log_dir)],
                                optimizer_state=optimizer_state)

    def _dense_round(self):
        stage = ("round_00",)
        if self.workdir.finished(*stage):
            return
        began = time.perf_counter()
        self._write_hparams()
        keras.utils.set_random_seed(_seed(self.config, 0, 0))
        self.workdir.save_weights(self.model, "initial", *stage)
        k = self.config.rewind_iteration
        rewind = RewindPoint(k, include_optimizer=self.config.rewind_optimizer_state)
        log_dir = f"{self.tensorboard}/round_00"
        record = self.trainer.fit(start=0, data_seed=self.config.seed, log_dir=log_dir,
                                  callbacks=[rewind, SparsitySummaries(log_dir)])
        if rewind.captured_iteration != k:
            raise RuntimeError(f"rewind point captured at {rewind.captured_iteration}, not {k}.")
        final = [w.numpy() for w in self.model.weights]
        for var, value in zip(self.model.weights, rewind.weights):
            var.assign(value)
        self.workdir.save_weights(self.model, "rewind", *stage)
        if rewind.optimizer_state is not None:
            self.workdir.save_arrays(rewind.optimizer_state, "rewind_optimizer", *stage)
        for var, value in zip(self.model.weights, final):
            var.assign(value)
        self.workdir.save_masks(get_masks(self.model), *stage)
        self.workdir.save_weights(self.model, "final", *stage)
        self._finish(record, 0, None, None, began, stage)

    def _load_trained(self, round_index):
        """Puts round ``round_index``'s trained ticket (weights, masks) in the model."""
        stage = f"round_{round_index:02d}"
        self.workdir.load_weights(self.model, "final", stage)
        set_masks(self.model, self.workdir.load_masks(stage))

    def _start_weights(self, masks):
        """The weights a round starts from, under ``masks``, per --retrain."""
        if self.config.retrain == "rewind":
            self.workdir.load_weights(self.model, "rewind", "round_00")
        set_masks(self.model, masks)

    def _ticket_round(self, r):
        stage = (f"round_{r:02d}",)
        if self.workdir.finished(*stage):
            return
        began = time.perf_counter()
        self._load_trained(r - 1)
        previous = get_masks(self.model)
        masks = prune(self.model, self.config.prune_rates(), scope=self.config.scope)
        self._start_weights(masks)
        self._save_start(masks, stage)
        record = self._train(f"round_{r:02d}", r, self.config.rewind_iteration, salt=0)
        self.workdir.save_weights(self.model, "final", *stage)
        self._finish(record, r, None, jaccard(previous, masks), began, stage)

    def _control(self, r, control):
        stage = (f"round_{r:02d}", control)
        if self.workdir.finished(*stage):
            return
        began = time.perf_counter()
        salt = 1 + CONTROLS.index(control)
        seed = _seed(self.config, r, salt)
        ticket_masks = self.workdir.load_masks(f"round_{r:02d}")
        self._load_trained(r - 1)
        if control == "reinit":
            masks = ticket_masks
            set_masks(self.model, masks)
            reinitialize(self.model, seed)
        elif control == "shuffle":
            masks = shuffle_masks(ticket_masks, seed)
            self._start_weights(masks)
        else:
            masks = self._random_masks(ticket_masks, seed)
            self._start_weights(masks)
        self._save_start(masks, stage)
        record = self._train(f"round_{r:02d}_{control}", r, self.config.rewind_iteration, salt)
        self.workdir.save_weights(self.model, "final", *stage)
        self._finish(record, r, control, jaccard(ticket_masks, masks), began, stage)

    def _random_masks(self, ticket_masks, seed):
        """A random mask with each layer's density equal to the ticket's."""
        set_masks(self.model, {k: np.ones_like(m) for k, m in ticket_masks.items()})
        ratios = {path: float(m.mean()) for path, m in ticket_masks.items()}
        return prune(self.model, density=ratios, scope="layerwise",
                     criterion=criteria.Random(seed))

    def _save_start(self, masks, stage):
        self.workdir.save_masks(masks, *stage)
        self.workdir.save_weights(self.model, "initial", *stage)

    def _finish(self, record, r, control, overlap, began, stage):
        report = metrics.report(self.model)
        record = {
            "round": r,
            "control": control,
            "density": density(self.model),
            **record,
            "mask_jaccard": overlap,
            "compression_ratio": report["compression_ratio"],
            "theoretical_speedup": report["theoretical_speedup"],
            "seed": _seed(self.config, r, 0 if control is None else 1 + CONTROLS.index(control)),
            "stage_wall_time_s": time.perf_counter() - began,
            "layer_densities": layer_densities(self.model),
        }
        self.workdir.finish(record, *stage)
        name = "ticket" if control is None else control
        self._summarize(record, name)
        self.log(f"round {r:2d} {name:>12}: density {record['density']:.4f}  "
                 f"test accuracy {record['test_accuracy']:.4f} "
                 f"(early stop {record['test_accuracy_at_early_stop']:.4f} "
                 f"at iteration {record['early_stop_iteration']})")

    # Results ----------------------------------------------------------------

    def records(self):
        """All finished records, rounds in order, each ticket before its controls."""
        out = []
        for r in range(self.config.rounds + 1):
            stages = [(f"round_{r:02d}",)]
            if r > 0:
                stages += [(f"round_{r:02d}", c) for c in self.config.controls]
            out += [self.workdir.record(*s) for s in stages if self.workdir.finished(*s)]
        return out

    def _summarize(self, rec, name):
        """Per-round TensorBoard scalars, written once when a stage finishes."""
        with self.rounds_writer.as_default(step=rec["round"]):
            tf.summary.scalar(f"{name}/test_accuracy", rec["test_accuracy"])
            tf.summary.scalar(f"{name}/test_accuracy_at_early_stop",
                              rec["test_accuracy_at_early_stop"] or 0.0)
            tf.summary.scalar(f"{name}/density", rec["density"])
            tf.summary.scalar(f"{name}/early_stop_iteration", rec["early_stop_iteration"] or 0)
            if rec["mask_jaccard"] is not None:
                tf.summary.scalar(f"{name}/mask_jaccard", rec["mask_jaccard"])
            # Accuracy against density: the step is the density in basis points.
            tf.summary.scalar(f"{name}/test_accuracy_vs_density_bp", rec["test_accuracy"],
                              step=int(round(rec["density"] * 10000)))
        self.rounds_writer.flush()

    def _write_hparams(self):
        from tensorboard.plugins.hparams import api as hparams

        values = {k: (v if isinstance(v, (bool, int, float, str)) else str(v))
                  for k, v in self.config.to_dict().items()}
        with self.rounds_writer.as_default():
            hparams.hparams(values, trial_id=self.workdir.path)
