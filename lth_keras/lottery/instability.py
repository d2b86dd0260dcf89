"""The instability-analysis driver (Frankle et al. 2020), for the dense
network and the IMP tickets of an existing IMP run.

For each rewind iteration k, the dense network is trained once from theta_0
to W_k (the same data order as the IMP run, so W_k is the IMP trajectory's).
For each network, dense (round 0) or ticket (round r, its IMP mask), W_k
under the mask is trained twice to the end with different data-order seeds
and the error barrier on the linear path between the two is measured
(:func:`lth_keras.analysis.instability.linear_mode_connectivity`).

With ``--imp_workdir`` the model, data and training hyper-parameters are the
IMP run's (its ``config.json``), theta_0 is its ``round_00/initial.weights.h5``,
W_k is its ``round_00/rewind.weights.h5`` when k is its rewind iteration, and
the masks are its ``round_XX/masks.npz``. Without it, the dense network of
the flags is analysed.
"""

import dataclasses
import os

import keras
import numpy as np
import tensorflow as tf

from lth_keras.analysis.instability import POINTS, linear_mode_connectivity
from lth_keras.analysis.plots import instability_curves
from lth_keras.callbacks.rewind import RewindPoint
from lth_keras.lottery.imp import resolve_iterations
from lth_keras.models import build as build_model
from lth_keras.pruning.masks import density, get_masks, set_masks
from lth_keras.runs.config import RunConfig, _choice, field
from lth_keras.runs.experiment import procedure
from lth_keras.runs.results import write_results
from lth_keras.runs.workdir import Workdir, read_json
from lth_keras.training.trainer import Trainer

SPLITS = ("test", "validation", "train")
# The flags that define the networks and their training: with --imp_workdir
# they are the IMP run's, never this command's.
TRAINING_FIELDS = (
    "model", "dataset", "augment", "label_noise", "optimizer", "learning_rate", "momentum",
    "weight_decay", "schedule", "milestones", "gamma", "warmup_iterations", "batch_size",
    "iterations", "epochs", "seed", "label_noise_kind",
)


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
        if not self.rewind_iterations:
            raise ValueError("--rewind_iterations: expected at least one iteration.")
        ks = self.rewind_iterations
        if min(ks) < 0 or len(set(ks)) != len(ks):
            raise ValueError(f"--rewind_iterations: expected distinct iterations >= 0, "
                             f"got {self.rewind_iterations}.")
        if len(self.data_seeds) != 2 or self.data_seeds[0] == self.data_seeds[1]:
            raise ValueError(f"--data_seeds: expected two different seeds, got {self.data_seeds}.")
        if self.points < 2:
            raise ValueError(f"--points: expected >= 2, got {self.points}.")
        _choice("split", self.split, SPLITS)
        if self.bn_statistics_batches < 1:
            raise ValueError(
                f"--bn_statistics_batches: expected >= 1, got {self.bn_statistics_batches}.")
        if any(r < 0 for r in self.rounds):
            raise ValueError(f"--rounds: expected rounds >= 0, got {self.rounds}.")
        if self.imp_workdir:
            if not os.path.isfile(os.path.join(self.imp_workdir, "config.json")):
                raise ValueError(f"--imp_workdir: {self.imp_workdir} is not a run directory "
                                 "(no config.json).")
        elif any(r != 0 for r in self.rounds):
            raise ValueError(f"--rounds: only round 0 (the dense net) exists without "
                             f"--imp_workdir, got {self.rounds}.")
        if self.iterations and max(self.rewind_iterations) >= self.iterations:
            raise ValueError(f"--rewind_iterations: {max(self.rewind_iterations)} is past the end "
                             f"of training (--iterations={self.iterations}).")

    def refuse_training_flags(self, given):
        """With --imp_workdir, raises ValueError if any training flag was ``given``."""
        given = [name for name in TRAINING_FIELDS if name in given]
        if self.imp_workdir and given:
            raise ValueError(f"--{given[0]}: with --imp_workdir the networks and their training "
                             "are the IMP run's; do not pass training flags.")

    def training_config(self):
        """The RunConfig the networks are trained with: the IMP run's training
        flags when --imp_workdir is given, this command's otherwise."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(RunConfig)}
        if self.imp_workdir:
            imp = read_json(os.path.join(self.imp_workdir, "config.json"))
            values.update({k: imp[k] for k in TRAINING_FIELDS if k in imp and k in values})
            values["data_dir"] = self.data_dir or imp.get("data_dir", "")
        return RunConfig(**values)


def _stage(round_index, k):
    return (f"round_{round_index:02d}", f"k_{k:06d}")


@procedure("instability")
class Instability:
    """Runs the analysis into a :class:`Workdir`; resumes by rerunning."""

    def __init__(self, config, workdir, strategy=None, log=print):
        self.config = config
        self.workdir = workdir
        self.strategy = strategy or tf.distribute.get_strategy()
        self.log = log
        self.imp = Workdir(config.imp_workdir, read_json(
            os.path.join(config.imp_workdir, "config.json"))) if config.imp_workdir else None
        train_config = config.training_config()
        train_config.validate()
        self.data = train_config.load_data()
        self.iterations = resolve_iterations(train_config, self.data)
        if max(config.rewind_iterations) >= self.iterations:
            raise ValueError(f"--rewind_iterations: {max(config.rewind_iterations)} is past the end "
                             f"of training ({self.iterations} iterations).")
        self.rounds = self._rounds()
        self.train_config = dataclasses.replace(train_config, iterations=self.iterations)
        with self.strategy.scope():
            self.model = build_model(train_config.model, self.data.input_shape,
                                     self.data.num_classes, seed=train_config.seed)
        self.trainer = Trainer(self.model, self.data, self.train_config, self.strategy)
        self.inputs, self.labels = self.data.arrays(config.split)

    def _rounds(self):
        if self.imp is None:
            return [0]
        finished = [r for r in range(self.imp.config.get("rounds", 0) + 1)
                    if self.imp.finished(f"round_{r:02d}")]
        wanted = self.config.rounds or finished
        missing = sorted(set(wanted) - set(finished))
        if missing:
            raise ValueError(f"--rounds: round(s) {missing} are not finished in --imp_workdir "
                             f"{self.config.imp_workdir} (finished: {finished}).")
        return sorted(wanted)

    def full_config(self):
        return {**self.config.to_dict(), "training": self.train_config.to_dict(),
                "replicas": self.strategy.num_replicas_in_sync}

    def run(self):
        self._trajectory()
        for r in self.rounds:
            for k in self.config.rewind_iterations:
                self._analyse(r, k)
            self.save_results()
        self.save_results()
        return self.records()

    # theta_0 -> W_k, once for every k -----------------------------------------

    def _trajectory(self):
        """Saves W_k of the dense network for every k in ``trajectory/``."""
        stage = ("trajectory",)
        if self.workdir.finished(*stage):
            return
        if self.imp is not None:
            self.imp.load_weights(self.model, "initial", "round_00")
        initial = [v.numpy() for v in self.model.weights]
        ks = sorted(self.config.rewind_iterations)
        points = [RewindPoint(k) for k in ks if k > 0]
        record = None
        if points:
            keras.utils.set_random_seed(self.train_config.seed)
            # The IMP run's data order (data_seed = its --seed): W_k is on its trajectory.
            record = self.trainer.fit(start=0, end=ks[-1], data_seed=self.train_config.seed,
                                      callbacks=points)
        for p in points:
            if p.captured_iteration != p.iteration:
                raise RuntimeError(f"W_k captured at {p.captured_iteration}, not {p.iteration}.")
        captured = {0: initial, **{p.iteration: p.weights for p in points}}
        for k in ks:
            for var, value in zip(self.model.weights, captured[k]):
                var.assign(value)
            self.workdir.save_weights(self.model, f"k_{k:06d}", *stage)
        self.workdir.finish({"rewind_iterations": ks, "training": record}, *stage)

    def _rewind_point(self, k):
        """Loads W_k (dense) into the model."""
        imp_k = self.imp.config.get("rewind_iteration") if self.imp is not None else None
        if imp_k == k and os.path.exists(os.path.join(self.imp.path, "round_00", "rewind.weights.h5")):
            self.imp.load_weights(self.model, "rewind", "round_00")
            return "imp round_00/rewind.weights.h5"
        self.workdir.load_weights(self.model, f"k_{k:06d}", "trajectory")
        return f"trajectory/k_{k:06d}.weights.h5"

    def _masks(self, r):
        if self.imp is None:
            return {path: np.ones_like(m) for path, m in get_masks(self.model).items()}
        return self.imp.load_masks(f"round_{r:02d}")

    # One network at one k ------------------------------------------------------

    def _analyse(self, r, k):
        stage = _stage(r, k)
        if self.workdir.finished(*stage):
            return
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
            bn_batches=bn_batches, seed=self.train_config.seed * 1_009 + r * 101 + k)
        record = {"round": r, "density": density(masks), **result, "split": c.split,
                  "rewind_point": source, "seed": self.train_config.seed}
        self.workdir.finish(record, *stage)
        self.log(f"round {r:2d} (density {record['density']:.4f}) k = {k:6d}: barrier "
                 f"{100 * record['barrier']:.2f}% ({'stable' if record['stable'] else 'unstable'}), "
                 f"endpoint errors {100 * record['endpoint_errors'][0]:.2f}% / "
                 f"{100 * record['endpoint_errors'][1]:.2f}%")

    def records(self):
        return [self.workdir.record(*_stage(r, k)) for r in self.rounds
                for k in self.config.rewind_iterations if self.workdir.finished(*_stage(r, k))]

    def save_results(self):
        records = self.records()
        write_results(self.workdir.path, self.full_config(), records, "instability")
        if records:
            instability_curves(records, os.path.join(self.workdir.path, "instability.png"),
                               title=f"Instability: {self.train_config.model} on "
                                     f"{self.train_config.dataset} ({self.config.split} error)")
