"""Baselines from other libraries, run beside lth_keras's own procedures.

Only the Keras 3 side lives in this package: TFMOT and tf_keras are imported
solely by ``tfmot_worker.py``, a script the TFMOT procedure
(:mod:`lth_keras.procedures.tfmot_baseline`) runs in its own process, so
importing lth_keras never sets ``TF_USE_LEGACY_KERAS`` nor changes ``tf.keras``.
"""

from lth_keras.baselines.tfmot_bridge import (
    SCHEDULES,
    TWIN_LAYERS,
    WORKER,
    load_by_layer,
    pruning_steps,
    training_order,
    twin_spec,
    weights_by_layer,
)
from lth_keras.baselines.tfmot_extra import (
    INSTALL,
    MissingExtraError,
    missing_extra,
    require_extra,
)
