"""Lottery-ticket procedures: iterative magnitude pruning with rewinding."""

from lth_keras.lottery.imp import CONTROLS, IMP, RETRAIN_MODES, ImpConfig
