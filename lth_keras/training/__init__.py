"""The shared training routine, optimizers and learning-rate schedules."""

from lth_keras.training.optimizers import OPTIMIZERS, SCHEDULES, LearningRate, make_optimizer
from lth_keras.training.trainer import Trainer
