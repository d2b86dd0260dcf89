"""Scores for pruning at initialization: SNIP, GraSP, SynFlow, magnitude, random.

Each is a :class:`~lth_keras.pruning.criteria.Criterion` registered by name in
``CRITERIA``, so ``lth_keras.prune(model, density=0.1, criterion=Snip(x, y))``
prunes with it and ``--criterion=snip`` names it.
"""

from lth_keras.pruning.criteria import CRITERIA, Magnitude, Random
from lth_keras.pruning.saliency.grasp import GraSP
from lth_keras.pruning.saliency.iterative import exponential_densities, prune_iteratively
from lth_keras.pruning.saliency.snip import Snip
from lth_keras.pruning.saliency.synflow import SynFlow, prune_synflow

# Magnitude at initialization is the magnitude criterion applied at theta_0.
CRITERIA.setdefault("magnitude_at_init", Magnitude)

__all__ = ["GraSP", "Magnitude", "Random", "Snip", "SynFlow", "exponential_densities",
           "prune_iteratively", "prune_synflow"]
