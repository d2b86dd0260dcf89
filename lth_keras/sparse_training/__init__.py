"""Dynamic sparse training: networks sparse from the first step whose
connections change while they train (SET, RigL, DST-EE, and the static
control), as objects over one drop-and-grow step and as a Keras callback."""

from lth_keras.sparse_training.callback import DynamicSparsityCallback
from lth_keras.sparse_training.gradients import dense_gradients
from lth_keras.sparse_training.methods import (
    DSTEE, METHODS, SET, DynamicSparsity, RigL, Static)
from lth_keras.sparse_training.schedule import UpdateSchedule
from lth_keras.sparse_training.slots import reset_slots, slots_of

__all__ = ["DSTEE", "METHODS", "SET", "DynamicSparsity", "DynamicSparsityCallback", "RigL",
           "Static", "UpdateSchedule", "dense_gradients", "reset_slots", "slots_of"]
