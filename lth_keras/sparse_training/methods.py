"""Dynamic sparse training methods: a shared drop step and one grow score each.

At every update each layer drops its ``floor(f * n_active)`` active weights of
lowest magnitude and grows as many inactive ones of highest grow score, so its
active count never changes; ties go to the earlier position. A method is a
small class that overrides only :meth:`DynamicSparsity.grow_scores`:

- ``static``: no updates (the static sparse control);
- ``set`` (Mocanu et al. 2018): uniform random scores;
- ``rigl`` (Evci et al. 2020): |dense gradient|;
- ``dst_ee`` (Huang et al. 2022): |dense gradient| + c ln(t) / (N + eps), N the
  number of updates the connection has been active. No public code confirms
  the exact acquisition function or c's default: this form is our reading of
  the paper, and c is a parameter.

Grown connections start at 0 with their optimizer state reset to 0. A
connection dropped and regrown in the same update keeps its value and its
state (as in the TF1 RigL code). The in-time over-parameterization rate (Liu
et al. 2021) is the fraction of prunable weights that have ever been active.
"""

import math

import numpy as np

from lth_keras.pruning.targets import prunable_weights
from lth_keras.registry import Registry
from lth_keras.sparse_training.slots import reset_slots

METHODS = Registry("method")
EPS = 1e-8


class DynamicSparsity:
    """The shared drop-and-grow update; subclasses override :meth:`grow_scores`.

    Its state (``ever_active`` and ``active_updates`` per kernel) is plain
    arrays, saved with a checkpoint (:meth:`state`, :meth:`load_state`).
    """

    needs_gradients = False
    updates = True

    def __init__(self, seed=0):
        self.seed = int(seed)
        self.ever_active, self.active_updates = {}, {}

    def grow_scores(self, target, step, gradient):
        """Scores of every entry of ``target``'s kernel (higher grows first)."""
        raise NotImplementedError

    def track(self, model):
        """Counts the current masks as active (call once at the start)."""
        for t in prunable_weights(model):
            mask = t.mask.numpy()
            self.ever_active[t.path] = self.ever_active.get(t.path, mask) | mask
            self.active_updates.setdefault(t.path, np.zeros(mask.shape, np.int64))

    def update(self, model, step, fraction, gradients=None):
        """Drops and grows ``fraction`` of each layer's active weights at
        ``step``; returns ``{path: (dropped, grown, jaccard with the old mask)}``."""
        self.track(model)
        report = {}
        for t in prunable_weights(model):
            old = t.mask.numpy()
            kernel = t.kernel.numpy()
            n = int(math.floor(fraction * old.sum()))
            self.active_updates[t.path] += old
            if not self.updates or n == 0:
                report[t.path] = (0, 0, 1.0)
                continue
            flat_old, flat_w = old.ravel(), np.abs(kernel).ravel()
            active = np.flatnonzero(flat_old)
            dropped = active[np.argsort(flat_w[active], kind="stable")[:n]]
            kept = flat_old.copy()
            kept[dropped] = False
            scores = np.asarray(self.grow_scores(t, step, None if gradients is None
                                                 else gradients[t.path]), np.float64).ravel()
            candidates = np.flatnonzero(~kept)
            grown = candidates[np.argsort(-scores[candidates], kind="stable")[:n]]
            new = kept.copy()
            new[grown] = True
            fresh = np.zeros_like(flat_old)
            fresh[grown] = ~flat_old[grown]  # regrown in the same update: keeps its value
            fresh = fresh.reshape(old.shape)
            t.kernel.assign(np.where(fresh, 0, kernel).astype(kernel.dtype))
            t.mask.assign(new.reshape(old.shape))
            if model.optimizer is not None:
                reset_slots(model.optimizer, t.kernel, fresh)
            self.ever_active[t.path] |= new.reshape(old.shape)
            both = np.sum(flat_old & new)
            report[t.path] = (int(np.sum(flat_old & ~new)), int(fresh.sum()),
                              float(both / max(np.sum(flat_old | new), 1)))
        return report

    def itop_rate(self):
        """``(global, {path: rate})``: the fraction of weights ever active."""
        rates = {p: float(m.mean()) for p, m in self.ever_active.items()}
        total = sum(m.size for m in self.ever_active.values())
        ever = sum(int(m.sum()) for m in self.ever_active.values())
        return ever / max(total, 1), rates

    def state(self):
        return {**{f"ever_active/{p}": m for p, m in self.ever_active.items()},
                **{f"active_updates/{p}": n for p, n in self.active_updates.items()}}

    def load_state(self, arrays):
        for key, value in arrays.items():
            kind, path = key.split("/", 1)
            (self.ever_active if kind == "ever_active" else self.active_updates)[path] = value


@METHODS.register("static")
class Static(DynamicSparsity):
    """Masks never change: the static sparse control."""

    updates = False


@METHODS.register("set")
class SET(DynamicSparsity):
    """Grow uniformly at random (Mocanu et al. 2018); seeded by step and layer."""

    def grow_scores(self, target, step, gradient):
        index = sum(ord(c) for c in target.path)  # a stable per-layer stream
        return np.random.default_rng([self.seed, step, index]).random(target.mask.shape)


@METHODS.register("rigl")
class RigL(DynamicSparsity):
    """Grow where the dense gradient is largest (Evci et al. 2020)."""

    needs_gradients = True

    def grow_scores(self, target, step, gradient):
        return np.abs(gradient)


@METHODS.register("dst_ee")
class DSTEE(RigL):
    """|dense gradient| + c ln(t) / (N + eps) (our reading of Huang et al. 2022)."""

    def __init__(self, seed=0, c=1.0):
        super().__init__(seed)
        self.c = float(c)

    def grow_scores(self, target, step, gradient):
        bonus = self.c * math.log(max(step, 1)) / (self.active_updates[target.path] + EPS)
        return np.abs(gradient) + bonus
