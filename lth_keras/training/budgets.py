"""Training budgets for pruned networks (Liu et al. 2019, "Rethinking the Value
of Network Pruning").

- ``standard``: the run's own schedule and length;
- ``scratch_e``: the same number of iterations, learning rate x gamma at 50%
  and 75% of them;
- ``scratch_b``: iterations scaled by dense / pruned multiply-adds (the same
  compute as training the dense network), decays at 50% and 75%.

Liu et al. cap Scratch-B at twice the epochs on ImageNet only (when the
pruned model saves more than 2x FLOPs); ``max_factor`` does that.
"""

import dataclasses
import math

from lth_keras.metrics import multiply_adds

BUDGETS = ("standard", "scratch_e", "scratch_b")
# The longest training accepted (--iterations, or --epochs resolved): far
# beyond any run, so that no iteration counter can overflow.
MAX_ITERATIONS = 2**31 - 1


def compute_factor(model):
    """Dense multiply-adds / effective multiply-adds of the (pruned) model."""
    dense, effective = multiply_adds(model)
    return dense / max(effective, 1)


def training_budget(name, config, model, max_factor=None):
    """``config`` (with resolved ``iterations``) changed to budget ``name``.

    Scaled iteration counts are rounded up to whole ``eval_every`` periods.
    """
    if name not in BUDGETS:
        raise ValueError(f"budget: expected one of {BUDGETS}, got {name!r}.")
    if max_factor is not None and not max_factor >= 1.0:
        raise ValueError(f"max_factor: expected >= 1, got {max_factor!r}.")
    if name == "standard":
        return config
    iterations = config.iterations
    if name == "scratch_b":
        factor = compute_factor(model)
        if max_factor is not None:
            factor = min(factor, max_factor)
        periods = math.ceil(iterations * factor / config.eval_every)
        iterations = periods * config.eval_every
    return dataclasses.replace(config, iterations=iterations, schedule="step",
                               milestones=[iterations // 2, (3 * iterations) // 4])


def resolve_iterations(config, data):
    """Total training iterations: ``--iterations``, or ``--epochs`` of the data
    rounded to whole evaluation periods (so compiled steps stay long).

    Raises ValueError for a ``--batch_size`` above the number of training
    examples (the batches would silently be smaller), before any work.
    """
    if config.batch_size > data.num_train:
        raise ValueError(f"--batch_size: {config.batch_size} is more than the {data.num_train} "
                         f"training examples of {data.name!r}; expected at most {data.num_train}.")
    if config.iterations:
        return config.iterations
    steps_per_epoch = -(-data.num_train // config.batch_size)
    periods = max(1, int(round(config.epochs * steps_per_epoch / config.eval_every)))
    if periods * config.eval_every > MAX_ITERATIONS:
        raise ValueError(f"--epochs: {config.epochs:g} epochs of {data.num_train} examples are "
                         f"more than {MAX_ITERATIONS} iterations.")
    return periods * config.eval_every
