"""Sanity checks of pruning at initialization (Su et al. 2020).

"Sanity-Checking Pruning Methods: Random Tickets can Win the Jackpot": if a
mask found on corrupted data, or rearranged within each layer, or trained
from other weights, does as well as the original, the method's value lies in
its per-layer keep ratios, not in which weights it picked. A check changes
one of three things, so each overrides one member:

- ``data_options``: the ``lth_keras.data.load`` options of the data the mask
  is found on (training always uses the clean data);
- ``mask(masks, seed)``: the mask that is trained;
- ``weights(model, seed)``: the weights it is trained from (after the mask is set).
"""

from lth_keras.pruning.masks import reinitialize, set_masks, shuffle_masks, shuffle_weights
from lth_keras.registry import Registry

SANITY_CHECKS = Registry("sanity")
# Registers a SanityCheck subclass under its flag value.
check = SANITY_CHECKS.register


def get(name):
    return SANITY_CHECKS.get(name, "sanity")()


class SanityCheck:
    """The unchecked method: the mask found on the training data, trained from theta_0."""

    data_options = {}

    def mask(self, masks, seed):
        return masks

    def weights(self, model, seed):
        pass


@check("none")
class NoCheck(SanityCheck):
    """The method itself, the reference every check is compared with."""


@check("corrupt_data")
class CorruptData(SanityCheck):
    """Find the mask on random labels with each image's pixels shuffled."""

    data_options = {"corruption": "random_labels_shuffled_pixels"}


@check("half_data")
class HalfData(SanityCheck):
    """Find the mask on a class-stratified half of the training data."""

    data_options = {"train_fraction": 0.5}


@check("rearrange")
class Rearrange(SanityCheck):
    """Permute each layer's mask independently: same per-layer ratios, no pattern."""

    def mask(self, masks, seed):
        return shuffle_masks(masks, seed)


@check("reinit")
class Reinit(SanityCheck):
    """Same mask, weights drawn afresh from each layer's initializer."""

    def weights(self, model, seed):
        reinitialize(model, seed)


@check("shuffle_weights")
class ShuffleWeights(SanityCheck):
    """Same mask, the kept weights' values permuted within each layer."""

    def weights(self, model, seed):
        shuffle_weights(model, seed)


def start_weights(model, initial_weights, masks, sanity_check, seed):
    """Puts the network a check trains into ``model``; returns its mask set.

    ``initial_weights`` are the dense model's ``get_weights()`` at theta_0
    (masks all ones), so a rearranged mask uncovers theta_0's own values.
    """
    model.set_weights(initial_weights)
    masks = sanity_check.mask(masks, seed)
    set_masks(model, masks)
    sanity_check.weights(model, seed)
    return masks
