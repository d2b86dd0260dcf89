"""Datasets for lottery-ticket and pruning experiments.

`load(name, ...)` returns a `Dataset` (deterministic tf.data pipelines and
numpy arrays); see `loader` for the accepted names and transforms.
"""
from lth_keras.data.dataset import Dataset
from lth_keras.data.label_noise import add_label_noise
from lth_keras.data.loader import DATASETS, check_name, load
from lth_keras.data.splits import DatasetError
from lth_keras.data.tfds_source import DatasetNotPreparedError

__all__ = ["DATASETS", "Dataset", "DatasetError", "DatasetNotPreparedError", "add_label_noise",
           "check_name", "load"]
