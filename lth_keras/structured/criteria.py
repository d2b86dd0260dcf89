"""Scores of residual blocks and of filters (channel groups); higher = keep.

A block criterion overrides ``scores(model, blocks) -> {block name: float}``
(``blocks`` from :func:`lth_keras.models.residual_blocks`); a filter criterion
overrides ``scores(model, groups) -> {group name: array of one score per
channel}`` (``groups`` from :func:`lth_keras.structured.groups.channel_groups`).
SNIP and GraSP are not re-implemented here: their per-weight scores
(:mod:`lth_keras.pruning.saliency`) are aggregated per block or per filter.
"""

import numpy as np
import tensorflow as tf

from lth_keras.layers.masked import MaskedLayer
from lth_keras.pruning.targets import prunable_weights
from lth_keras.registry import Registry
from lth_keras.structured.gating import block_gates, channel_gates

AGGREGATIONS = ("sum", "mean")
BLOCK_CRITERIA = Registry("block criterion")
FILTER_CRITERIA = Registry("filter criterion")


class BlockCriterion:
    """Base class: override :meth:`scores`."""

    def scores(self, model, blocks):
        """``{block["name"]: float}`` for each of ``blocks``; higher = keep."""
        raise NotImplementedError


class FilterCriterion:
    """Base class: override :meth:`scores`."""

    def scores(self, model, groups):
        """``{group.name: np.ndarray of shape (group.channels,)}``; higher = keep."""
        raise NotImplementedError


def _aggregate(values, aggregation):
    if aggregation not in AGGREGATIONS:
        raise ValueError(f"aggregation: expected one of {AGGREGATIONS}, got {aggregation!r}.")
    return float(np.sum(values)) if aggregation == "sum" else float(np.mean(values))


def _weight_scores(weight_criterion, model):
    """Per-weight scores of every masked kernel, pruned weights scored 0."""
    targets = prunable_weights(model)
    scores = weight_criterion.scores(model, targets)
    return {t.path: np.asarray(scores[t.path]) * t.mask.numpy() for t in targets}, targets


# Blocks ---------------------------------------------------------------------


class SaliencyBlocks(BlockCriterion):
    """A per-weight criterion (SNIP, GraSP) aggregated over a block's kernels.

    Jordao et al. 2023 score blocks with SNIP or GraSP at theta_0 but leave the
    aggregation open. Default ``sum``: both scores estimate the effect of
    removing a weight to first order, and the estimate for removing a set of
    weights is the sum over the set; ``mean`` instead ranks by per-weight
    salience, independent of how many weights a block has (later stages'
    blocks have 4x the weights of earlier ones).

    Args:
      weight_criterion: a :class:`lth_keras.pruning.Criterion` (e.g. ``GraSP``).
      aggregation: ``"sum"`` or ``"mean"``.
    """

    def __init__(self, weight_criterion, aggregation="sum"):
        _aggregate([0.0], aggregation)
        self.weight_criterion = weight_criterion
        self.aggregation = aggregation

    def scores(self, model, blocks):
        per_weight, targets = _weight_scores(self.weight_criterion, model)
        out = {}
        for b in blocks:
            kernels = [per_weight[t.path].ravel() for t in targets if t.layer.name in b["layers"]]
            if not kernels:
                raise ValueError(f"model: block '{b['name']}' has no masked kernel to score.")
            out[b["name"]] = _aggregate(np.concatenate(kernels), self.aggregation)
        return out


@BLOCK_CRITERIA.register("gate")
class GateMagnitude(BlockCriterion):
    """|g| of each block's learned BlockGate: a branch the network scaled down
    matters less (the block-level analogue of network slimming, Liu et al. 2017)."""

    def scores(self, model, blocks):
        gates = block_gates(model)
        missing = [b["name"] for b in blocks if b["name"] not in gates]
        if missing:
            raise ValueError(f"model: blocks {missing} have no BlockGate (use gated_resnet).")
        return {b["name"]: float(abs(gates[b["name"]].values())) for b in blocks}


def linear_cka(x, y):
    """Linear CKA of two representations of the same n examples (Kornblith et
    al. 2019, "Similarity of Neural Network Representations Revisited", Eq. 5),
    computed from n x n Gram matrices, so wide feature maps cost little."""
    x = np.asarray(x, np.float64).reshape(len(x), -1)
    y = np.asarray(y, np.float64).reshape(len(y), -1)
    n = len(x)
    centering = np.eye(n) - 1.0 / n
    k = centering @ (x @ x.T) @ centering
    l = centering @ (y @ y.T) @ centering
    hsic = np.sum(k * l)
    norm = np.sqrt(np.sum(k * k) * np.sum(l * l))
    return float(hsic / norm) if norm > 0 else 1.0


@BLOCK_CRITERIA.register("cka")
class RepresentationChange(BlockCriterion):
    """1 - linear CKA between a block's input and output on a batch, after training.

    A block whose output is nearly its input (CKA near 1) changes the
    representation least and goes first; the representation-based analogue of
    the after-training criteria of Jordao et al. 2023, with CKA of Kornblith et
    al. 2019 as the similarity. Inference mode (moving BatchNorm statistics).

    Args:
      inputs: the examples (normalised), e.g. a class-balanced training batch.
    """

    def __init__(self, inputs):
        self.inputs = np.asarray(inputs, np.float32)

    def scores(self, model, blocks):
        import keras

        ends = []
        for b in blocks:
            ends += [model.get_layer(f"{b['name']}_conv1").input,
                     model.get_layer(f"{b['name']}_out").output]
        probe = keras.Model(model.inputs, ends)
        values = probe.predict(self.inputs, verbose=0, batch_size=len(self.inputs))
        return {b["name"]: 1.0 - linear_cka(values[2 * i], values[2 * i + 1])
                for i, b in enumerate(blocks)}


@BLOCK_CRITERIA.register("random")
class RandomBlocks(BlockCriterion):
    """Uniform random block scores, reproducible by ``seed``."""

    def __init__(self, seed=0):
        self.seed = seed

    def scores(self, model, blocks):
        rng = np.random.default_rng([self.seed, 7])
        return {b["name"]: float(v) for b, v in zip(blocks, rng.random(len(blocks)))}


# Filters --------------------------------------------------------------------


def _filters(model, group):
    """Each producer's kernel (mask folded) reshaped to (-1, channels)."""
    out = []
    for name in group.producers:
        layer = model.get_layer(name)
        kernel = layer.kernel.numpy()
        if isinstance(layer, MaskedLayer):
            kernel = kernel * layer.kernel_mask.numpy()
        out.append(kernel.reshape(-1, kernel.shape[-1]))
    return np.concatenate(out, axis=0)


@FILTER_CRITERIA.register("l1")
class L1Norm(FilterCriterion):
    """||W_c||_1 of each filter, summed over a group's producers (Li et al. 2017,
    "Pruning Filters for Efficient ConvNets")."""

    def scores(self, model, groups):
        return {g.name: np.abs(_filters(model, g)).sum(axis=0) for g in groups}


@FILTER_CRITERIA.register("l2")
class L2Norm(FilterCriterion):
    """||W_c||_2 of each filter over all of a group's producers."""

    def scores(self, model, groups):
        return {g.name: np.sqrt(np.square(_filters(model, g)).sum(axis=0)) for g in groups}


@FILTER_CRITERIA.register("bn_gamma")
class BatchNormScale(FilterCriterion):
    """|gamma_c| of the group's BatchNorms, summed (network slimming, Liu et al. 2017)."""

    def scores(self, model, groups):
        import keras

        out = {}
        for g in groups:
            bns = [model.get_layer(f) for f in g.followers
                   if isinstance(model.get_layer(f), keras.layers.BatchNormalization)]
            if not bns or any(bn.gamma is None for bn in bns):
                raise ValueError(f"criterion: group '{g.name}' has no BatchNorm scale to rank by.")
            out[g.name] = sum(np.abs(bn.gamma.numpy()) for bn in bns)
        return out


@FILTER_CRITERIA.register("taylor")
class FirstOrderTaylor(FilterCriterion):
    """|a_c * dL/da_c| summed over positions, as |dL/dg_c| of a channel gate at 1.

    Molchanov et al. 2017 ("Pruning Convolutional Neural Networks for Resource
    Efficient Inference") rank by the first-order Taylor estimate of the loss
    change; Molchanov et al. 2019 compute it through gates. A gate shared by
    both sides of a residual add sums their contributions (the group's score).
    The absolute value is taken per chunk of ``batch_size`` examples and
    averaged. BatchNorm in training mode; no model state is changed.
    Needs a model with channel gates (``add_channel_gates``).
    """

    def __init__(self, inputs, labels, batch_size=64):
        self.inputs = np.asarray(inputs, np.float32)
        self.labels = np.asarray(labels)
        self.batch_size = int(batch_size)

    def scores(self, model, groups):
        gates = channel_gates(model, groups)
        missing = [g.name for g in groups if g.name not in gates]
        if missing:
            raise ValueError(f"model: groups {missing} have no ChannelGate (add_channel_gates).")
        trainable = [tf.convert_to_tensor(v) for v in model.trainable_variables]
        frozen = [tf.convert_to_tensor(v) for v in model.non_trainable_variables]
        variables = list(model.trainable_variables) + list(model.non_trainable_variables)
        position = {id(v): i for i, v in enumerate(variables)}
        wanted = [position[id(gates[g.name].gate)] for g in groups]
        totals = [np.zeros(g.channels) for g in groups]
        chunks = range(0, len(self.labels), self.batch_size)
        for start in chunks:
            x = self.inputs[start:start + self.batch_size]
            y = self.labels[start:start + self.batch_size]
            with tf.GradientTape() as tape:
                values = trainable + frozen
                tape.watch([values[i] for i in wanted])
                logits, _ = model.stateless_call(values[:len(trainable)], values[len(trainable):],
                                                 x, training=True)
                loss = tf.reduce_mean(tf.keras.losses.sparse_categorical_crossentropy(
                    y, logits, from_logits=True))
            grads = tape.gradient(loss, [values[i] for i in wanted])
            for i, grad in enumerate(grads):
                totals[i] += np.abs(grad.numpy()) * len(y) / len(self.labels)
        return {g.name: t for g, t in zip(groups, totals)}


@FILTER_CRITERIA.register("random")
class RandomFilters(FilterCriterion):
    """Uniform random channel scores, reproducible by ``seed``."""

    def __init__(self, seed=0):
        self.seed = seed

    def scores(self, model, groups):
        rng = np.random.default_rng([self.seed, 11])
        return {g.name: rng.random(g.channels) for g in groups}


class SaliencyFilters(FilterCriterion):
    """A per-weight criterion (SNIP, GraSP) aggregated over each filter: the
    producers' kernel slices ``[..., c]`` (``sum`` or ``mean``, as for blocks)."""

    def __init__(self, weight_criterion, aggregation="sum"):
        _aggregate([0.0], aggregation)
        self.weight_criterion = weight_criterion
        self.aggregation = aggregation

    def scores(self, model, groups):
        per_weight, targets = _weight_scores(self.weight_criterion, model)
        by_layer = {t.layer.name: per_weight[t.path] for t in targets if t.name == "kernel"}
        out = {}
        for g in groups:
            missing = [p for p in g.producers if p not in by_layer]
            if missing:
                raise ValueError(f"model: producers {missing} have no masked kernel to score.")
            stacked = np.concatenate([by_layer[p].reshape(-1, g.channels) for p in g.producers])
            reduce = np.sum if self.aggregation == "sum" else np.mean
            out[g.name] = reduce(stacked, axis=0)
        return out


def _weight_criterion(name, inputs, labels):
    from lth_keras.pruning import criteria as weight_criteria

    return weight_criteria.get(name, inputs=inputs, labels=labels)


SALIENCY = ("snip", "grasp")
BLOCK_CRITERION_NAMES = tuple(sorted((*SALIENCY, *BLOCK_CRITERIA)))
FILTER_CRITERION_NAMES = tuple(sorted((*SALIENCY, *FILTER_CRITERIA)))


def block_criterion(name, *, inputs=None, labels=None, aggregation="sum", seed=0):
    """The block criterion a command line names: snip, grasp, gate, cka, random.

    ``inputs``/``labels``: the scoring batch (SNIP, GraSP, CKA).
    """
    if name in SALIENCY:
        return SaliencyBlocks(_weight_criterion(name, inputs, labels), aggregation)
    if name == "cka":
        return RepresentationChange(inputs)
    if name == "random":
        return RandomBlocks(seed)
    if name == "gate":
        return GateMagnitude()
    raise ValueError(f"criterion: unknown block criterion '{name}'; expected one of "
                     f"{list(BLOCK_CRITERION_NAMES)}.")


def filter_criterion(name, *, inputs=None, labels=None, aggregation="sum", seed=0):
    """The filter criterion a command line names: l1, l2, bn_gamma, taylor,
    random, snip, grasp."""
    if name in SALIENCY:
        return SaliencyFilters(_weight_criterion(name, inputs, labels), aggregation)
    if name == "taylor":
        return FirstOrderTaylor(inputs, labels)
    if name == "random":
        return RandomFilters(seed)
    if name in FILTER_CRITERIA:
        return FILTER_CRITERIA[name]()
    raise ValueError(f"filter_criterion: unknown '{name}'; expected one of "
                     f"{list(FILTER_CRITERION_NAMES)}.")

