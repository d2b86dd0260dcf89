"""Datasets for lottery-ticket and pruning experiments.

`load(name, ...)` returns a `Dataset` (deterministic tf.data pipelines and
numpy arrays); see `loader` for the accepted names and transforms.
"""
from lth_keras.data.dataset import Dataset
from lth_keras.data.label_noise import add_label_noise
from lth_keras.data.loader import DATASETS, load
from lth_keras.data.tfds_source import DatasetNotPreparedError

__all__ = ["DATASETS", "Dataset", "DatasetNotPreparedError", "add_label_noise", "load"]
