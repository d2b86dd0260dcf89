"""Experiment procedures: one module each, every one a :class:`Procedure`.

``PROCEDURES`` maps a command's name to its procedure; ``command(name)`` is
the absl main of ``experiments/<name>.py``.
"""

from lth_keras.procedures.base import PROCEDURES, Procedure
from lth_keras.procedures.evaluation import Evaluation, EvaluationConfig
from lth_keras.procedures.imp import IMP, ImpConfig
from lth_keras.procedures.instability import Instability, InstabilityConfig
from lth_keras.procedures.layer_lottery import LayerLottery, LayerLotteryConfig
from lth_keras.procedures.prune_at_init import PruneAtInit, PruneAtInitConfig
from lth_keras.procedures.tfmot_baseline import TfmotBaseline, TfmotConfig

__all__ = ["IMP", "Evaluation", "EvaluationConfig", "ImpConfig", "Instability",
           "InstabilityConfig", "LayerLottery", "LayerLotteryConfig", "PROCEDURES", "Procedure", "PruneAtInit", "PruneAtInitConfig",
           "TfmotBaseline", "TfmotConfig"]
