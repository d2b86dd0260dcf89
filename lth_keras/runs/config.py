"""Run configurations: one dataclass per experiment, one field per flag.

Every field becomes an absl flag of the same name (:mod:`lth_keras.runs.flags`),
the whole configuration is saved in the run directory, and its hash names the
directory when none is given (as open_lth names runs by their hyper-parameters).
"""

import dataclasses
import hashlib
import json

from lth_keras.runs.validate import (at_least, choice, finite_fields, increasing, interval,
                                     positive, seed, useless)
from lth_keras.training.budgets import MAX_ITERATIONS
from lth_keras.training.optimizers import OPTIMIZERS, SCHEDULES

STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")


def field(default, help, **kwargs):
    """A dataclass field whose ``help`` becomes the flag's help text."""
    if isinstance(default, (list, tuple, dict)):
        return dataclasses.field(default_factory=lambda: type(default)(default),
                                  metadata={"help": help, **kwargs})
    return dataclasses.field(default=default, metadata={"help": help, **kwargs})


class Config:
    """What every configuration dataclass has: validation, its dict, its hash."""

    def validate(self):
        """Raises ValueError naming the first bad flag. Called before any work.

        Subclasses extend it and call ``super().validate()`` first, so that no
        configuration takes a nan or inf (a test holds every one to it)."""
        finite_fields(self)

    def check_given(self, given):
        """Raises ValueError for flags that were ``given`` (by name) but mean
        nothing in this configuration. Called after :meth:`validate`."""

    def changed(self, given):
        """The ``given`` flags whose value is not their default (a saved flag
        file gives every flag, at its default too)."""
        out = set()
        for f in dataclasses.fields(self):
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            if f.name in given and getattr(self, f.name) != default:
                out.add(f.name)
        return out

    def to_dict(self):
        return dataclasses.asdict(self)

    def digest(self):
        """A short hash of the configuration: the default run directory name."""
        text = json.dumps(self.to_dict(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:10]


@dataclasses.dataclass
class RunConfig(Config):
    """What every experiment shares: data, model, training, seed, strategy.

    Training defaults follow Frankle & Carbin 2019's LeNet-300-100 on MNIST
    (Adam 1.2e-3, batch 60, Glorot-normal init), scaled to the bundled
    5,000-example ``mnist5k``.
    """

    model: str = field("lenet300_100", "Model from the zoo (lth_keras.models.MODELS).")
    dataset: str = field("mnist5k", "mnist5k (bundled), synthetic, tfds:<name> or a .npz path.")
    data_dir: str = field("", "TFDS data directory (for tfds:<name> datasets).")
    augment: bool = field(False, "Standard CIFAR augmentation (pad 4, crop, flip).")
    label_noise: float = field(0.0, "Fraction of training labels to corrupt.")
    label_noise_kind: str = field("symmetric", "Label noise: symmetric or asymmetric (He et al. 2022).")
    optimizer: str = field("adam", f"One of {OPTIMIZERS}.")
    learning_rate: float = field(1.2e-3, "Peak learning rate.")
    momentum: float = field(0.9, "SGD momentum.")
    weight_decay: float = field(0.0, "Decoupled weight decay (sgd, adamw).")
    schedule: str = field("constant", f"Learning-rate schedule, one of {SCHEDULES}.")
    milestones: list = field([], "Step-decay milestones, in iterations.", item=int)
    gamma: float = field(0.1, "Step-decay factor.")
    warmup_iterations: int = field(0, "Iterations of linear learning-rate warm-up.")
    batch_size: int = field(60, "Training batch size.")
    iterations: int = field(0, "Training iterations per run (0: use --epochs).")
    epochs: float = field(20.0, "Training epochs per run, if --iterations is 0.")
    eval_every: int = field(64, "Evaluate on the validation split every this many iterations.")
    jit_compile: bool = field(True, "Compile the training step with XLA.")
    steps_per_execution: int = field(32, "Training steps per compiled call (fast for small models).")
    seed: int = field(0, "Seed of initialisation, data order and every control.")
    deterministic_ops: bool = field(False, "TF op determinism (disables XLA; slower).")
    strategy: str = field("default", f"tf.distribute strategy, one of {STRATEGIES}.")
    tpu: str = field("", "TPU address, with --strategy=tpu.")
    stop_on_divergence: bool = field(False, "Stop the study at the first diverged stage (default: record it and go on).")

    def validate(self):
        """Raises ValueError naming the first bad flag. Called before any work."""
        from lth_keras.data import DatasetError, check_name
        from lth_keras.models import MODELS

        super().validate()
        choice("model", self.model, MODELS)
        try:
            check_name(self.dataset)
        except DatasetError as error:
            raise ValueError(f"--dataset: {error}") from None
        choice("label_noise_kind", self.label_noise_kind, ("symmetric", "asymmetric"))
        choice("optimizer", self.optimizer, OPTIMIZERS)
        choice("schedule", self.schedule, SCHEDULES)
        choice("strategy", self.strategy, STRATEGIES)
        positive("learning_rate", self.learning_rate)
        positive("batch_size", self.batch_size)
        positive("eval_every", self.eval_every)
        positive("steps_per_execution", self.steps_per_execution)
        interval("iterations", self.iterations, 0, MAX_ITERATIONS)
        if self.iterations == 0 and not self.epochs > 0:
            raise ValueError(f"--epochs: expected > 0 when --iterations is 0, got {self.epochs}.")
        if not 0.0 <= self.label_noise < 1.0:
            raise ValueError(f"--label_noise: expected a fraction in [0, 1), got {self.label_noise}.")
        seed("seed", self.seed)
        self._validate_optimizer()
        self._validate_schedule()
        if self.strategy == "tpu" and not self.tpu:
            raise ValueError("--tpu: the TPU address is required with --strategy=tpu.")

    def _validate_optimizer(self):
        at_least("weight_decay", self.weight_decay, 0)
        if self.optimizer == "adam" and self.weight_decay:
            useless("weight_decay", "plain Adam has no decoupled weight decay",
                    "use --optimizer=adamw (or --weight_decay=0)")
        # Momentum 1 never forgets a gradient: the step grows without bound.
        interval("momentum", self.momentum, 0.0, 1.0, "[)")

    def _validate_schedule(self):
        # A factor above 1 would raise the rate at each milestone; 1 keeps it.
        interval("gamma", self.gamma, 0.0, 1.0, "(]")
        at_least("warmup_iterations", self.warmup_iterations, 0)
        for m in self.milestones:
            at_least("milestones", m, 1)
        increasing("milestones", self.milestones)
        if self.milestones and self.schedule != "step":
            useless("milestones", f"only --schedule=step decays at milestones, not "
                    f"--schedule={self.schedule}", "add --schedule=step or drop --milestones")
        if self.schedule == "step" and not self.milestones:
            useless("schedule", "step decay without --milestones keeps the rate constant",
                    "pass --milestones or use --schedule=constant")
        if self.iterations:
            if self.milestones and self.milestones[-1] >= self.iterations:
                raise ValueError(f"--milestones: {self.milestones[-1]} is past the end of "
                                 f"training (--iterations={self.iterations}).")
            if self.warmup_iterations > self.iterations:
                raise ValueError(f"--warmup_iterations: {self.warmup_iterations} is past the end "
                                 f"of training (--iterations={self.iterations}).")

    def check_given(self, given):
        """Refuses training flags that this configuration never uses."""
        super().check_given(given)
        changed = self.changed(given)
        if "momentum" in changed and self.optimizer != "sgd":
            useless("momentum", f"only --optimizer=sgd uses momentum, not "
                    f"--optimizer={self.optimizer}", "use --optimizer=sgd or drop --momentum")
        if "gamma" in changed and self.schedule != "step":
            useless("gamma", f"only --schedule=step decays by gamma, not --schedule={self.schedule}",
                    "add --schedule=step and --milestones, or drop --gamma")
        if "epochs" in changed and self.iterations:
            useless("epochs", f"--iterations={self.iterations} sets the training length",
                    "drop --epochs or pass --iterations=0")
        if "label_noise_kind" in changed and not self.label_noise:
            useless("label_noise_kind", "no label is corrupted with --label_noise=0",
                    "pass --label_noise or drop --label_noise_kind")
        if "tpu" in changed and self.strategy != "tpu":
            useless("tpu", f"only --strategy=tpu uses a TPU address, not --strategy={self.strategy}",
                    "add --strategy=tpu or drop --tpu")
        if "data_dir" in changed and not self.dataset.startswith("tfds:"):
            useless("data_dir", f"only tfds:<name> datasets are read from a data directory, not "
                    f"'{self.dataset}'", "drop --data_dir")

    def load_data(self, **overrides):
        """The run's dataset, as its flags describe it (``overrides`` win)."""
        from lth_keras.data import DatasetError, load

        options = dict(data_dir=self.data_dir or None, seed=self.seed,
                       label_noise=self.label_noise, label_noise_kind=self.label_noise_kind,
                       augment=self.augment)
        try:
            return load(self.dataset, **{**options, **overrides})
        except DatasetError as error:
            raise ValueError(f"--dataset: {error}") from None
