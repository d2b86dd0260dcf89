"""Lottery tickets by iterative magnitude pruning (IMP) with rewinding.

Round 0 trains the dense network from theta_0 and captures theta_k. Each
later round prunes ``prune_rate`` of the remaining weights of the previous
round's trained network, then retrains the survivors by one of:

- ``rewind``: from theta_k (k = 0: Frankle & Carbin 2019; k > 0: Frankle et
  al. 2020), with the schedule replayed from iteration k;
- ``lr_rewind``: from the trained weights, with the schedule replayed from
  iteration k (Renda et al. 2020);
- ``finetune``: from the trained weights at the final learning rate.

Controls (:mod:`lth_keras.pruning.controls`) train on masks derived from the
ticket's. Each stage starts from what earlier stages saved to disk, so an
interrupted run that is started again computes exactly what an uninterrupted
one does.

A round whose training diverges (:mod:`lth_keras.procedures.divergence`) is
recorded ``diverged``, with its weights and masks saved as they are; its
controls still train (their masks come from the previous, finite round). A
diverged ticket's weights are not finite, so their magnitudes give no mask:
every later round, ticket and controls, is recorded ``skipped`` with the
reason, without training (or, with ``--stop_on_divergence``, the run stops).
"""

import dataclasses
import time

import keras
import tensorflow as tf

from lth_keras import metrics
from lth_keras.callbacks.rewind import RewindPoint
from lth_keras.callbacks.summaries import SparsitySummaries
from lth_keras.models import build as build_model
from lth_keras.procedures.base import PROCEDURES, Procedure
from lth_keras.procedures.divergence import (DIVERGED, accuracy_text,
                                             blocked_by, measured, outcome, skipped, status)
from lth_keras.pruning import controls as controls_lib
from lth_keras.pruning.masks import density, get_masks, jaccard, layer_densities, set_masks
from lth_keras.pruning.pruner import SCOPES, prune
from lth_keras.reporting import plots
from lth_keras.runs import layout
from lth_keras.runs.config import RunConfig, field
from lth_keras.runs.seeds import stage_seed
from lth_keras.runs.validate import at_least, choice, distinct, fraction, useless

RETRAIN_MODES = ("rewind", "lr_rewind", "finetune")
CONTROLS = tuple(controls_lib.CONTROLS)
DENSE_ROUND = layout.imp_round(0)


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
        at_least("rounds", self.rounds, 0)
        fraction("prune_rate", self.prune_rate)
        for kind in ("conv", "dense", "output"):
            rate = getattr(self, f"prune_rate_{kind}")
            if rate != -1.0:
                fraction(f"prune_rate_{kind}", rate)
        choice("scope", self.scope, SCOPES)
        choice("retrain", self.retrain, RETRAIN_MODES)
        distinct("controls", self.controls, nonempty=False)
        for control in self.controls:
            choice("controls", control, CONTROLS)
        at_least("rewind_iteration", self.rewind_iteration, 0)
        if self.iterations and self.rewind_iteration >= self.iterations:
            raise ValueError(
                f"--rewind_iteration: {self.rewind_iteration} is past the end of training "
                f"(--iterations={self.iterations})."
            )
        if self.retrain == "finetune" and self.rewind_iteration:
            useless("rewind_iteration", "--retrain=finetune continues from the trained weights "
                    "and rewinds nothing", "use --retrain=rewind or --retrain=lr_rewind, or drop "
                    "--rewind_iteration")
        if self.rewind_optimizer_state and self.retrain != "rewind":
            useless("rewind_optimizer_state", f"only --retrain=rewind restores the rewound "
                    f"optimizer state, not --retrain={self.retrain}", "use --retrain=rewind")

    def prune_rates(self):
        """The per-kind amounts handed to :func:`lth_keras.prune`."""
        pick = lambda v, default: default if v == -1.0 else v  # noqa: E731
        return {
            "conv": pick(self.prune_rate_conv, self.prune_rate),
            "dense": pick(self.prune_rate_dense, self.prune_rate),
            "output": pick(self.prune_rate_output, self.prune_rate / 2),
        }


@PROCEDURES.register("imp")
class IMP(Procedure):
    """The IMP driver: round 0, then per round the ticket and its controls."""

    config_class = ImpConfig
    results_key = "rounds"
    table = {
        "round": "d", "control": "", "status": "", "density": ".4f", "test_accuracy": ".4f",
        "test_accuracy_at_early_stop": ".4f", "early_stop_iteration": "", "wall_time_s": ".1f",
    }

    def setup(self):
        config = self.config
        self.data = self.load_data()
        self.training_length(self.data)
        self.refuse_past_end("rewind_iteration", config.rewind_iteration)
        with self.strategy.scope():
            self.model = build_model(config.model, self.data.input_shape, self.data.num_classes,
                                     seed=config.seed)
        self.trainer = self.trainer_for(self.model)
        self.rounds_writer = tf.summary.create_file_writer(self.tensorboard("rounds"))

    # Stages -----------------------------------------------------------------

    def stages(self):
        """Round 0, then each round's ticket before its controls."""
        out = [DENSE_ROUND]
        for r in range(1, self.config.rounds + 1):
            out += [layout.imp_round(r)] + [layout.imp_round(r, c) for c in self.config.controls]
        return out

    def run_stage(self, stage):
        began = time.perf_counter()
        r = layout.imp_round_of(stage)
        control = stage[1] if len(stage) > 1 else None
        reason = self._blocked(r)
        if reason:
            return skipped(reason, round=r, control=control, seed=self._seed(r, control))
        if r == 0:
            record, overlap = self._dense_round(stage), None
        elif control is None:
            record, overlap = self._ticket_round(r, stage)
        else:
            record, overlap = self._control(r, control, stage)
        self.workdir.save_weights(self.model, "final", *stage)
        report = metrics.report(self.model)
        return {
            "round": r,
            "control": control,
            "density": density(self.model),
            **record,
            "mask_jaccard": overlap,
            "compression_ratio": report["compression_ratio"],
            "theoretical_speedup": report["theoretical_speedup"],
            "seed": self._seed(r, control),
            "stage_wall_time_s": time.perf_counter() - began,
            "layer_densities": layer_densities(self.model),
        }

    def _blocked(self, r):
        """Why round ``r`` cannot run: round r - 1's ticket diverged or was skipped."""
        if r == 0:
            return None
        return blocked_by(self.workdir.record(*layout.imp_round(r - 1)),
                          "the dense round 0" if r == 1 else f"round {r - 1}'s ticket",
                          "finite weights to prune")

    def _seed(self, r, control=None):
        return stage_seed(self.config.seed, r, 0 if control is None else controls_lib.get(control).salt)

    def _train(self, stage, r, control=None):
        keras.utils.set_random_seed(self._seed(r, control))
        log_dir = self.tensorboard(*stage)
        constant = None
        if self.config.retrain == "finetune":
            constant = self.trainer.schedule().at(self.iterations)
        optimizer_state = None
        if self.config.rewind_optimizer_state and self.config.retrain == "rewind":
            optimizer_state = self.workdir.load_arrays("rewind_optimizer", *DENSE_ROUND)
        return self.trainer.fit(start=self.config.rewind_iteration, data_seed=self.config.seed,
                                constant_learning_rate=constant, log_dir=log_dir,
                                callbacks=[SparsitySummaries(log_dir)],
                                optimizer_state=optimizer_state)

    def _dense_round(self, stage):
        self._write_hparams()
        keras.utils.set_random_seed(self._seed(0))
        self.workdir.save_weights(self.model, "initial", *stage)
        k = self.config.rewind_iteration
        rewind = RewindPoint(k, include_optimizer=self.config.rewind_optimizer_state)
        log_dir = self.tensorboard(*stage)
        record = self.trainer.fit(start=0, data_seed=self.config.seed, log_dir=log_dir,
                                  callbacks=[rewind, SparsitySummaries(log_dir)])
        # A training that diverged at or before k has no theta_k (its later rounds are skipped).
        reached = status(record) != DIVERGED or k < record["diverged_at_iteration"]
        if reached and rewind.captured_iteration != k:
            raise RuntimeError(f"rewind point captured at {rewind.captured_iteration}, not {k}.")
        if reached:
            with rewind.rewound(self.model):
                self.workdir.save_weights(self.model, "rewind", *stage)
            if rewind.optimizer_state is not None:
                self.workdir.save_arrays(rewind.optimizer_state, "rewind_optimizer", *stage)
        self.workdir.save_masks(get_masks(self.model), *stage)
        return record

    def _load_trained(self, r):
        """Puts round ``r``'s trained ticket (weights, masks) in the model."""
        stage = layout.imp_round(r)
        self.workdir.load_weights(self.model, "final", *stage)
        set_masks(self.model, self.workdir.load_masks(*stage))

    def _start_weights(self, masks):
        """The weights a round starts from, under ``masks``, per --retrain."""
        if self.config.retrain == "rewind":
            self.workdir.load_weights(self.model, "rewind", *DENSE_ROUND)
        set_masks(self.model, masks)

    def _ticket_round(self, r, stage):
        self._load_trained(r - 1)
        previous = get_masks(self.model)
        masks = prune(self.model, self.config.prune_rates(), scope=self.config.scope)
        self._start_weights(masks)
        self._save_start(masks, stage)
        return self._train(stage, r), jaccard(previous, masks)

    def _control(self, r, name, stage):
        control = controls_lib.get(name)
        seed = self._seed(r, name)
        ticket_masks = self.workdir.load_masks(*layout.imp_round(r))
        self._load_trained(r - 1)
        masks = control.masks(self.model, ticket_masks, seed)
        if control.rewinds:
            self._start_weights(masks)
        else:
            set_masks(self.model, masks)
        control.weights(self.model, seed)
        self._save_start(masks, stage)
        return self._train(stage, r, name), jaccard(ticket_masks, masks)

    def _save_start(self, masks, stage):
        self.workdir.save_masks(masks, *stage)
        self.workdir.save_weights(self.model, "initial", *stage)

    # Results ----------------------------------------------------------------

    def finished_stage(self, stage, record):
        name = record["control"] or "ticket"
        self._summarize(record, name)
        head = f"round {record['round']:2d} {name:>12}"
        if record.get("density") is None:  # skipped: nothing was trained
            return self.log(f"{head}: {outcome(record)}")
        early = record["test_accuracy_at_early_stop"]
        self.log(f"{head}: density {record['density']:.4f}  {accuracy_text(record)} "
                 f"(early stop {'-' if early is None else format(early, '.4f')} "
                 f"at iteration {record['early_stop_iteration']})")

    def table_rows(self, records):
        return [{**r, "control": r["control"] or "ticket"} for r in records]

    def write_figures(self, records):
        named = [{**r, "control": r["control"] or "ticket"} for r in records]
        plots.accuracy_vs_density(named, self.figure("accuracy_vs_density"), group_by="control",
                                  title=f"IMP: {self.config.model} on {self.config.dataset}")

    @staticmethod
    def report_row(record):
        """(series, setting, order) of ``record`` in the report; series "dense" heads it."""
        if record["round"] == 0 and not record.get("control"):
            return "dense", "", None
        return record.get("control") or "ticket", f"round {record['round']}", record["round"]

    def _summarize(self, rec, name):
        """Per-round TensorBoard scalars, written once when a stage finishes;
        what a diverged or skipped stage could not measure is left out."""
        with self.rounds_writer.as_default(step=rec["round"]):
            if rec.get("diverged_at_iteration") is not None:
                tf.summary.scalar(f"{name}/diverged_at_iteration", rec["diverged_at_iteration"])
            if rec.get("density") is None:  # skipped: nothing was measured
                self.rounds_writer.flush()
                return
            if rec["test_accuracy"] is not None:
                tf.summary.scalar(f"{name}/test_accuracy", rec["test_accuracy"])
            tf.summary.scalar(f"{name}/test_accuracy_at_early_stop",
                              rec["test_accuracy_at_early_stop"] or 0.0)
            tf.summary.scalar(f"{name}/density", rec["density"])
            tf.summary.scalar(f"{name}/early_stop_iteration", rec["early_stop_iteration"] or 0)
            if rec["mask_jaccard"] is not None:
                tf.summary.scalar(f"{name}/mask_jaccard", rec["mask_jaccard"])
            if measured(rec, "test_accuracy"):
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
