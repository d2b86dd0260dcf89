"""Pruning: criteria (scores), the exact top-k pruner, and mask-set operations."""

from lth_keras.pruning.criteria import CRITERIA, Criterion, Magnitude, Random, register
from lth_keras.pruning.masks import (
    apply_masks,
    density,
    get_masks,
    jaccard,
    layer_densities,
    load_masks,
    masks_digest,
    reinitialize,
    save_masks,
    set_masks,
    shuffle_masks,
    shuffle_weights,
)
from lth_keras.pruning.pruner import SCOPES, prune, top_k_mask
from lth_keras.pruning.targets import KINDS, PrunableWeight, prunable_weights
from lth_keras.pruning import saliency  # noqa: F401  (registers snip, grasp, synflow)
