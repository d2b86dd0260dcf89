"""Optimizers and learning-rate schedules by name, as the command lines name them.

Schedules count optimizer iterations, so rewinding to iteration k (Frankle et
al. 2020) or replaying a schedule from k (learning-rate rewinding, Renda et
al. 2020) is setting ``optimizer.iterations`` to k.
"""

import math

import keras

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("constant", "step", "cosine")


@keras.saving.register_keras_serializable(package="lth_keras")
class LearningRate(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up, then constant, step decay or cosine decay.

    Args:
      base: the peak learning rate.
      kind: ``"constant"``, ``"step"`` (multiply by ``gamma`` at each of
        ``milestones``, in iterations) or ``"cosine"`` (to 0 at ``total``).
      warmup: iterations of linear warm-up from 0 (Goyal et al. 2017).
    """

    def __init__(self, base, kind="constant", total=1, milestones=(), gamma=0.1, warmup=0):
        self.base = float(base)
        self.kind = kind
        self.total = int(total)
        self.milestones = tuple(int(m) for m in milestones)
        self.gamma = float(gamma)
        self.warmup = int(warmup)

    def __call__(self, step):
        step = keras.ops.cast(step, "float32")
        lr = keras.ops.convert_to_tensor(self.base, "float32")
        if self.kind == "step":
            for m in self.milestones:
                lr = keras.ops.where(step >= m, lr * self.gamma, lr)
        elif self.kind == "cosine":
            progress = keras.ops.clip(step / max(self.total, 1), 0.0, 1.0)
            lr = 0.5 * lr * (1.0 + keras.ops.cos(math.pi * progress))
        if self.warmup:
            lr = lr * keras.ops.minimum(1.0, (step + 1.0) / self.warmup)
        return lr

    def at(self, step):
        """The learning rate at ``step``, as a Python float."""
        return float(self(step))

    def get_config(self):
        return dict(base=self.base, kind=self.kind, total=self.total,
                    milestones=list(self.milestones), gamma=self.gamma, warmup=self.warmup)


def make_optimizer(name, learning_rate, momentum=0.9, weight_decay=0.0):
    """A Keras optimizer by name; ``weight_decay`` is decoupled for AdamW/SGD."""
    if name == "adam":
        return keras.optimizers.Adam(learning_rate)
    if name == "adamw":
        return keras.optimizers.AdamW(learning_rate, weight_decay=weight_decay)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate, momentum=momentum,
                                    weight_decay=weight_decay or None)
    raise ValueError(f"optimizer: expected one of {OPTIMIZERS}, got {name!r}.")
