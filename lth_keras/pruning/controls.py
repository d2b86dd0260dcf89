"""The controls of a lottery ticket (Frankle & Carbin 2019): networks trained
on a mask derived from the ticket's, to tell what the ticket's mask and
weights are worth. A control overrides what it changes:

- ``reinit``: the ticket's mask, weights drawn afresh (``weights``);
- ``shuffle``: each layer's mask permuted, the ticket's start weights (``masks``);
- ``random_prune``: a random mask with the ticket's per-layer densities (``masks``).
"""

import numpy as np

from lth_keras.pruning import criteria
from lth_keras.pruning.masks import reinitialize, set_masks, shuffle_masks
from lth_keras.pruning.pruner import prune
from lth_keras.registry import Registry

CONTROLS = Registry("controls")


class Control:
    """The ticket's mask, trained from the ticket's start weights.

    ``salt`` tells the control's seed apart from the ticket's
    (:func:`lth_keras.runs.seeds.stage_seed`).
    """

    salt = 0
    rewinds = True  # trains from the weights the ticket trained from

    def masks(self, model, ticket_masks, seed):
        return ticket_masks

    def weights(self, model, seed):
        pass


@CONTROLS.register("reinit")
class Reinit(Control):
    """Same mask, weights drawn afresh from each layer's initializer."""

    salt = 1
    rewinds = False

    def weights(self, model, seed):
        reinitialize(model, seed)


@CONTROLS.register("shuffle")
class Shuffle(Control):
    """Each layer's mask permuted: same per-layer densities, no pattern."""

    salt = 2

    def masks(self, model, ticket_masks, seed):
        return shuffle_masks(ticket_masks, seed)


@CONTROLS.register("random_prune")
class RandomPrune(Control):
    """A random mask with each layer's density equal to the ticket's, drawn by the pruner."""

    salt = 3

    def masks(self, model, ticket_masks, seed):
        set_masks(model, {k: np.ones_like(m) for k, m in ticket_masks.items()})
        ratios = {path: float(m.mean()) for path, m in ticket_masks.items()}
        return prune(model, density=ratios, scope="layerwise", criterion=criteria.Random(seed))


def get(name):
    return CONTROLS.get(name, "controls")()
