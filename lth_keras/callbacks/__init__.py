"""Keras callbacks for lottery-ticket work, usable in any ``model.fit``."""

from lth_keras.callbacks.divergence import Divergence, finite_weights
from lth_keras.callbacks.early_stop import EarlyStopIteration
from lth_keras.callbacks.pruning import IterativePruning
from lth_keras.callbacks.rewind import RewindPoint
from lth_keras.callbacks.summaries import SparsitySummaries, write_sparsity
