"""Instability analysis (Frankle et al. 2020, "Linear Mode Connectivity and the
Lottery Ticket Hypothesis"), for the dense network and the IMP tickets of an
existing IMP run.

For each rewind iteration k, the dense network is trained once from theta_0
to W_k (the same data order as the IMP run, so W_k is the IMP trajectory's).
For each network, dense (round 0) or ticket (round r, its IMP mask), W_k
under the mask is trained twice to the end with different data-order seeds
and the error barrier on the linear path between the two is measured
(:func:`lth_keras.analysis.instability.linear_mode_connectivity`).

With ``--imp_workdir`` the model, data and training hyper-parameters are the
IMP run's (its configuration), theta_0 is its round 0's initial weights, W_k
is its round 0's rewind weights when k is its rewind iteration, and the masks
are its rounds' masks. Without it, the dense network of the flags is analysed.

A pair whose copies diverge is recorded ``diverged``, its path unmeasured; if
the dense trajectory diverges, the W_k it did not reach are recorded
``skipped`` (:mod:`lth_keras.procedures.divergence`). IMP rounds skipped after
a diverged round have no mask and cannot be analysed.
"""

import dataclasses
import os

import keras
import numpy as np

from lth_keras.analysis.instability import POINTS, linear_mode_connectivity
from lth_keras.callbacks.rewind import RewindPoint
from lth_keras.models import build as build_model
from lth_keras.procedures.base import PROCEDURES, Procedure
from lth_keras.procedures.divergence import (SKIPPED, blocked_by, outcome,
                                             skipped, status)
from lth_keras.pruning.masks import density, get_masks, set_masks
from lth_keras.reporting.plots import instability_curves
from lth_keras.runs import layout
from lth_keras.runs.config import RunConfig, field
from lth_keras.runs.seeds import stage_seed
from lth_keras.runs.validate import at_least, choice, distinct, seed_list, useless
from lth_keras.runs.workdir import Workdir

SPLITS = ("test", "validation", "train")
# The flags that define the networks and their training: with --imp_workdir
# they are the IMP run's, never this command's.
TRAINING_FIELDS = (
    "model", "dataset", "augment", "label_noise", "optimizer", "learning_rate", "momentum",
    "weight_decay", "schedule", "milestones", "gamma", "warmup_iterations", "batch_size",
    "iterations", "epochs", "seed", "label_noise_kind",
)
TRAJECTORY = layout.instability_trajectory()
DENSE_ROUND = layout.imp_round(0)


@dataclasses.dataclass
class InstabilityConfig(RunConfig):
    """Instability analysis flags. Defaults: Frankle et al. 2020 (30 points,
    two data orders, stable below 2%), on LeNet-300-100 and mnist5k."""

    rewind_iterations: list = field([0, 100, 500], "Rewind iterations k to analyse.", item=int)
    imp_workdir: str = field("", "An IMP run directory whose dense net and tickets are analysed "
                                 "(its model, data and training flags are used).")
    rounds: list = field([], "IMP rounds to analyse (round 0: the dense net; empty: every "
                             "finished ticket round).", item=int)
    data_seeds: list = field([1, 2], "Data-order seeds of the two trained copies.", item=int)
    points: int = field(POINTS, "Evenly spaced interpolation points, both ends included.")
    split: str = field("test", f"Split the error is measured on, one of {SPLITS}.")
    recompute_bn_statistics: bool = field(
        False, "Re-estimate BatchNorm statistics at each point (default: interpolate them).")
    bn_statistics_batches: int = field(10, "Training batches per BatchNorm re-estimate.")

    def validate(self):
        super().validate()
        distinct("rewind_iterations", self.rewind_iterations)
        for k in self.rewind_iterations:
            at_least("rewind_iterations", k, 0)
        seed_list("data_seeds", self.data_seeds)
        if len(self.data_seeds) != 2:
            raise ValueError(f"--data_seeds: expected two different seeds, got {self.data_seeds}.")
        if self.points < 2:
            raise ValueError(f"--points: expected >= 2, got {self.points}.")
        choice("split", self.split, SPLITS)
        if self.bn_statistics_batches < 1:
            raise ValueError(
                f"--bn_statistics_batches: expected >= 1, got {self.bn_statistics_batches}.")
        distinct("rounds", self.rounds, nonempty=False)
        if any(r < 0 for r in self.rounds):
            raise ValueError(f"--rounds: expected rounds >= 0, got {self.rounds}.")
        if self.imp_workdir:
            if not os.path.isfile(os.path.join(self.imp_workdir, layout.CONFIG)):
                raise ValueError(f"--imp_workdir: {self.imp_workdir} is not a run directory "
                                 f"(no {layout.CONFIG}).")
        elif any(r != 0 for r in self.rounds):
            raise ValueError(f"--rounds: only round 0 (the dense net) exists without "
                             f"--imp_workdir, got {self.rounds}.")
        if self.iterations and max(self.rewind_iterations) >= self.iterations:
            raise ValueError(f"--rewind_iterations: {max(self.rewind_iterations)} is past the end "
                             f"of training (--iterations={self.iterations}).")

    def check_given(self, given):
        """With --imp_workdir, a ValueError if any training flag was ``given``;
        without it, the training flags' own checks."""
        changed = self.changed(given)
        if "bn_statistics_batches" in changed and not self.recompute_bn_statistics:
            useless("bn_statistics_batches", "BatchNorm statistics are interpolated, not "
                    "re-estimated", "add --recompute_bn_statistics")
        if not self.imp_workdir:
            super().check_given(given)
            return
        training = [name for name in TRAINING_FIELDS if name in given]
        if training:
            raise ValueError(f"--{training[0]}: with --imp_workdir the networks and their "
                             "training are the IMP run's; do not pass training flags.")

    def training_config(self):
        """The RunConfig the networks are trained with: the IMP run's training
        flags when --imp_workdir is given, this command's otherwise."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(RunConfig)}
        if self.imp_workdir:
            imp = Workdir.existing(self.imp_workdir, "imp_workdir").config
            values.update({k: imp[k] for k in TRAINING_FIELDS if k in imp and k in values})
            values["data_dir"] = self.data_dir or imp.get("data_dir", "")
        return RunConfig(**values)


@PROCEDURES.register("instability")
class Instability(Procedure):
    """W_k of the dense network once, then every (round, k) pair of copies."""

    config_class = InstabilityConfig
    results_key = "instability"
    table = {
        "round": "d", "density": ".4f", "rewind_iteration": "d", "status": "", "barrier": ".4f",
        "stable": "",
        "max_error": ".4f", "wall_time_s": ".1f",
    }

    def setup(self):
        config = self.config
        self.imp = (Workdir.existing(config.imp_workdir, "imp_workdir")
                    if config.imp_workdir else None)
        train_config = config.training_config()
        train_config.validate()
        self.data = self.load_data(train_config)
        self.training_length(self.data, train_config)
        self.refuse_past_end("rewind_iterations", max(config.rewind_iterations))
        self.rounds = self._rounds()
        self.pairs = {layout.instability_pair(r, k): (r, k) for r in self.rounds
                      for k in config.rewind_iterations}
        with self.strategy.scope():
            self.model = build_model(train_config.model, self.data.input_shape,
                                     self.data.num_classes, seed=train_config.seed)
        self.trainer = self.trainer_for(self.model)
        self.inputs, self.labels = self.data.arrays(config.split)

    def _rounds(self):
        if self.imp is None:
            return [0]
        finished = [r for r in range(self.imp.config.get("rounds", 0) + 1)
                    if self.imp.finished(*layout.imp_round(r))]
        masked = [r for r in finished
                  if status(self.imp.record(*layout.imp_round(r))) != SKIPPED]
        wanted = self.config.rounds or masked
        missing = sorted(set(wanted) - set(finished))
        if missing:
            raise ValueError(f"--rounds: round(s) {missing} are not finished in --imp_workdir "
                             f"{self.config.imp_workdir} (finished: {finished}).")
        unmasked = sorted(set(wanted) - set(masked))
        if unmasked:
            raise ValueError(f"--rounds: round(s) {unmasked} of --imp_workdir "
                             f"{self.config.imp_workdir} were skipped after a diverged round: "
                             f"they have no mask (analysable: {masked}).")
        return sorted(wanted)

    def resolved(self):
        return {"training": self.train_config.to_dict(),
                "replicas": self.strategy.num_replicas_in_sync}

    # Stages -------------------------------------------------------------------

    def stages(self):
        """The trajectory to every W_k, then each round's networks at each k."""
        return [TRAJECTORY, *self.pairs]

    def is_result(self, stage):
        return stage != TRAJECTORY

    def run_stage(self, stage):
        if stage == TRAJECTORY:
            return self._trajectory()
        return self._analyse(*self.pairs[stage])

    # theta_0 -> W_k, once for every k -----------------------------------------

    def _trajectory(self):
        """Saves W_k of the dense network for every k."""
        if self.imp is not None:
            self.imp.load_weights(self.model, "initial", *DENSE_ROUND)
        initial = [v.numpy() for v in self.model.weights]
        ks = sorted(self.config.rewind_iterations)
        points = [RewindPoint(k) for k in ks if k > 0]
        record = None
        if points:
            keras.utils.set_random_seed(self.train_config.seed)
            # The IMP run's data order (data_seed = its --seed): W_k is on its trajectory.
            record = self.trainer.fit(start=0, end=ks[-1], data_seed=self.train_config.seed,
                                      callbacks=points)
        # A trajectory that diverged at or before k has no W_k (its pairs are skipped).
        diverged_at = record and record["diverged_at_iteration"]
        end = ks[-1] + 1 if diverged_at is None else diverged_at
        for p in points:
            if p.captured_iteration != p.iteration and p.iteration < end:
                raise RuntimeError(f"W_k captured at {p.captured_iteration}, not {p.iteration}.")
        captured = {0: initial, **{p.iteration: p.weights for p in points if p.iteration < end}}
        for k in sorted(captured):
            for var, value in zip(self.model.weights, captured[k]):
                var.assign(value)
            self.workdir.save_weights(self.model, layout.rewind_folder(k), *TRAJECTORY)
        return {"rewind_iterations": ks, "captured": sorted(captured),
                "status": status(record),
                "diverged_at_iteration": diverged_at,
                "training": record}

    def _rewind_point(self, k):
        """Loads W_k (dense) into the model; returns where it came from."""
        if self._imp_rewinds(k):
            self.imp.load_weights(self.model, "rewind", *DENSE_ROUND)
            return "imp " + "/".join((*DENSE_ROUND, layout.weights("rewind")))
        name = layout.rewind_folder(k)
        self.workdir.load_weights(self.model, name, *TRAJECTORY)
        return "/".join((*TRAJECTORY, layout.weights(name)))

    def _imp_rewinds(self, k):
        """Whether W_k is the IMP run's rewind point (its round 0 saved it)."""
        imp_k = self.imp.config.get("rewind_iteration") if self.imp is not None else None
        return imp_k == k and self.imp.has(layout.weights("rewind"), *DENSE_ROUND)

    def _masks(self, r):
        if self.imp is None:
            return {path: np.ones_like(m) for path, m in get_masks(self.model).items()}
        return self.imp.load_masks(*layout.imp_round(r))

    # One network at one k ------------------------------------------------------

    def _analyse(self, r, k):
        trajectory = self.workdir.record(*TRAJECTORY)
        if k not in trajectory.get("captured", [k]) and not self._imp_rewinds(k):
            reason = blocked_by(trajectory, "the dense trajectory", f"W_k at k = {k}")
            return skipped(reason, round=r, density=density(self._masks(r)), rewind_iteration=k,
                           seed=self.train_config.seed)
        source = self._rewind_point(k)
        masks = self._masks(r)
        set_masks(self.model, masks)
        start = [v.numpy() for v in self.model.weights]
        c = self.config
        bn_batches = None
        if c.recompute_bn_statistics:
            batches = self.data.train(self.train_config.batch_size, seed=self.train_config.seed)
            bn_batches = lambda: batches.take(c.bn_statistics_batches)  # noqa: E731
        result = linear_mode_connectivity(
            self.trainer, start, k, c.data_seeds, self.inputs, self.labels, points=c.points,
            bn_batches=bn_batches, seed=stage_seed(self.train_config.seed, r, k))
        return {"round": r, "density": density(masks), **result, "split": c.split,
                "rewind_point": source, "seed": self.train_config.seed}

    # Results ------------------------------------------------------------------

    def finished_stage(self, stage, record):
        if not self.is_result(stage):
            return
        head = f"round {record['round']:2d}"
        if record.get("barrier") is None:  # a copy diverged, or W_k was never reached
            return self.log(f"{head} k = {record['rewind_iteration']:6d}: {outcome(record)}")
        self.log(f"{head} (density {record['density']:.4f}) "
                 f"k = {record['rewind_iteration']:6d}: barrier "
                 f"{100 * record['barrier']:.2f}% ({'stable' if record['stable'] else 'unstable'}), "
                 f"endpoint errors {100 * record['endpoint_errors'][0]:.2f}% / "
                 f"{100 * record['endpoint_errors'][1]:.2f}%")

    def write_figures(self, records):
        if records:
            instability_curves(records, self.figure("instability"),
                               title=f"Instability: {self.train_config.model} on "
                                     f"{self.train_config.dataset} ({self.config.split} error)")

    @staticmethod
    def report_row(record):
        """(series, setting, order) of ``record`` in the report: a network at a k."""
        k = record["rewind_iteration"]
        return f"round {record['round']}", f"k = {k}", k
