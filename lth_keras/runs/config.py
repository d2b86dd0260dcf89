"""Run configurations: one dataclass per experiment, one field per flag.

Every field becomes an absl flag of the same name (:mod:`lth_keras.runs.flags`),
the whole configuration is saved in the run directory, and its hash names the
directory when none is given (as open_lth names runs by their hyper-parameters).
"""

import dataclasses
import hashlib
import json

from lth_keras.runs.validate import choice, positive
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
        """Raises ValueError naming the first bad flag. Called before any work."""

    def check_given(self, given):
        """Raises ValueError for flags that were ``given`` (by name) but mean
        nothing in this configuration. Called after :meth:`validate`."""

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

    def validate(self):
        """Raises ValueError naming the first bad flag. Called before any work."""
        from lth_keras.data import DATASETS
        from lth_keras.models import MODELS

        choice("model", self.model, MODELS)
        if not (self.dataset in DATASETS or self.dataset.startswith("tfds:")
                or self.dataset.endswith(".npz")):
            raise ValueError(
                f"--dataset: unknown '{self.dataset}'; expected one of {sorted(DATASETS)}, "
                "tfds:<name> or a path ending in .npz."
            )
        choice("label_noise_kind", self.label_noise_kind, ("symmetric", "asymmetric"))
        choice("optimizer", self.optimizer, OPTIMIZERS)
        choice("schedule", self.schedule, SCHEDULES)
        choice("strategy", self.strategy, STRATEGIES)
        positive("learning_rate", self.learning_rate)
        positive("batch_size", self.batch_size)
        positive("eval_every", self.eval_every)
        positive("steps_per_execution", self.steps_per_execution)
        if self.iterations < 0:
            raise ValueError(f"--iterations: expected >= 0, got {self.iterations}.")
        if self.iterations == 0 and not self.epochs > 0:
            raise ValueError(f"--epochs: expected > 0 when --iterations is 0, got {self.epochs}.")
        if not 0.0 <= self.label_noise < 1.0:
            raise ValueError(f"--label_noise: expected a fraction in [0, 1), got {self.label_noise}.")
        if self.weight_decay < 0:
            raise ValueError(f"--weight_decay: expected >= 0, got {self.weight_decay}.")
        if self.strategy == "tpu" and not self.tpu:
            raise ValueError("--tpu: the TPU address is required with --strategy=tpu.")

    def load_data(self, **overrides):
        """The run's dataset, as its flags describe it (``overrides`` win)."""
        from lth_keras.data import load

        options = dict(data_dir=self.data_dir or None, seed=self.seed,
                       label_noise=self.label_noise, label_noise_kind=self.label_noise_kind,
                       augment=self.augment)
        return load(self.dataset, **{**options, **overrides})
