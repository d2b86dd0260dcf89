"""``tf.distribute`` strategies by the names the command lines use."""

import json
import os

import tensorflow as tf


def make_strategy(name, tpu=""):
    """``default``, ``mirrored`` (all local devices), ``multi_worker`` (from
    ``TF_CONFIG``) or ``tpu`` (at address ``tpu``)."""
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "tpu":
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    raise ValueError(f"strategy: unknown {name!r}.")


def is_chief():
    """True unless TF_CONFIG names this process a non-chief worker."""
    config = json.loads(os.environ.get("TF_CONFIG", "{}"))
    task = config.get("task", {})
    kind, index = task.get("type"), task.get("index", 0)
    if kind in (None, "chief"):
        return True
    return kind == "worker" and index == 0 and "chief" not in config.get("cluster", {})
