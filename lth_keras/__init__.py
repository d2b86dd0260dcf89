"""lth_keras: lottery tickets and pruning research on Keras 3.

The core API: :func:`wrap` a Keras model into its masked twin, :func:`prune`
it, read and change its masks, and :func:`strip` it back to plain Keras.
"""

from lth_keras import callbacks, data, layers, metrics, models, pruning, runs
from lth_keras.pruning import (
    Criterion,
    apply_masks,
    density,
    get_masks,
    jaccard,
    layer_densities,
    load_masks,
    prunable_weights,
    prune,
    reinitialize,
    save_masks,
    set_masks,
    shuffle_masks,
    shuffle_weights,
)
from lth_keras.wrapping import strip, wrap

__version__ = "0.1.0"
