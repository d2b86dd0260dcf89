"""Importing lth_keras never turns tf.keras into tf_keras (runs without the tfmot extra)."""

import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Imports every lth_keras module (the worker script aside) in a fresh process,
# then reports what TFMOT's import would have changed.
PROBE = r"""
import importlib, json, os, pkgutil, sys
sys.path.insert(0, sys.argv[1])
import keras
import tensorflow as tf
import lth_keras
import lth_keras.baselines
WORKER = "lth_keras.baselines.tfmot_worker"
imported = []
for info in pkgutil.walk_packages(lth_keras.__path__, "lth_keras."):
    if info.name != WORKER:
        importlib.import_module(info.name)
        imported.append(info.name)
try:
    importlib.import_module(WORKER)
    worker = "imported"
except ImportError as error:
    worker = str(error)
print(json.dumps({
    "imported": imported,
    "worker": worker,
    "legacy_env": os.environ.get("TF_USE_LEGACY_KERAS"),
    "tf_keras_dense_is_keras3": tf.keras.layers.Dense is keras.layers.Dense,
    "keras_version": keras.__version__,
    "loaded": sorted(m for m in ("tf_keras", "tensorflow_model_optimization") if m in sys.modules),
}))
"""


def test_importing_every_module_keeps_tf_keras_keras3():
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    done = subprocess.run([sys.executable, "-c", PROBE, REPO], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert {"lth_keras.baselines.tfmot_bridge", "lth_keras.baselines.tfmot_extra",
            "lth_keras.procedures.tfmot_baseline", "lth_keras.deploy",
            "lth_keras.procedures.imp"} <= set(report["imported"])
    assert report["legacy_env"] is None
    assert report["tf_keras_dense_is_keras3"], "tf.keras is no longer Keras 3"
    assert report["keras_version"].startswith("3.")
    assert report["loaded"] == []
    # The worker refuses to be imported, so it cannot set the variable by accident.
    assert "runs only as a script" in report["worker"]
