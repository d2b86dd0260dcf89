"""Baselines from other libraries, run beside lth_keras's own procedures.

Only drivers live in this package: TFMOT and tf_keras are imported solely by
``tfmot_worker.py``, a script the TFMOT driver runs in its own process, so
importing lth_keras never sets ``TF_USE_LEGACY_KERAS`` nor changes ``tf.keras``.
"""

from lth_keras.baselines.tfmot import (
    SCHEDULES,
    MissingExtraError,
    TfmotBaseline,
    TfmotConfig,
    missing_extra,
    twin_spec,
)
