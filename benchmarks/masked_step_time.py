"""Training step time of a masked model relative to the same plain Keras model.

The masked model is a zoo model pruned to ~20% density; the plain model is
``lth_keras.strip`` of it (same architecture, same weights). Both train with
``model.fit`` on random data held in memory, under the same compile settings:
Keras' defaults and a fast one (LeNet: XLA and 32 steps per execution;
ResNet-20: 32 steps per execution, since XLA slows convolutions down on CPU).
Each is warmed up, then their repeats are interleaved; a ratio is the median
over rounds of the two step times measured back to back in that round.
Prototype mixins below split the masked layers' cost.

    python benchmarks/masked_step_time.py [--models lenet300_100,resnet20]
"""

import argparse

import common  # first: puts the checkout on sys.path

import keras
import numpy as np
import tensorflow as tf
from keras import ops

import lth_keras
from lth_keras import models
from lth_keras.layers import MaskedLayer

# name: (input shape, batch size, optimizer factory, steps per repeat, repeats, settings).
# XLA is off for ResNet-20 by default: on CPU its step takes over twice the CPU
# time (and far more wall time) of TF's own kernels, too slow to repeat here.
CASES = {
    "lenet300_100": ((28, 28, 1), 60, lambda: keras.optimizers.Adam(1.2e-3), 256, 41,
                     "default,xla+spe32"),
    "resnet20": ((32, 32, 3), 128, lambda: keras.optimizers.SGD(0.1, momentum=0.9), 16, 5,
                 "default,spe32"),
}
# Keras' compile defaults ("auto" is no XLA on a CPU-only machine) and faster ones.
SETTINGS = {
    "default": dict(jit_compile="auto", steps_per_execution=1),
    "spe32": dict(jit_compile="auto", steps_per_execution=32),
    "xla": dict(jit_compile=True, steps_per_execution=1),
    "xla+spe32": dict(jit_compile=True, steps_per_execution=32),
}
TARGET = 1.05


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=",".join(CASES), help="comma-separated zoo names")
    parser.add_argument("--density", type=float, default=0.2, help="density after pruning")
    for name, (_, _, _, steps, repeats, settings) in CASES.items():
        parser.add_argument(f"--{name}_steps", type=int, default=steps, help="steps per repeat")
        parser.add_argument(f"--{name}_repeats", type=int, default=repeats,
                            help="interleaved repeats")
        parser.add_argument(f"--{name}_settings", default=settings,
                            help=f"comma-separated, among {list(SETTINGS)}")
    parser.add_argument("--prototype_models", default="lenet300_100",
                        help="comma-separated models for which to also time the prototypes")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


class NoConstraint:
    """Prototype mixin: the forward multiply only, no constraint after each step."""

    def build(self, input_shape):
        super().build(input_shape)
        for _, kernel, _ in self.kernel_and_mask():
            kernel.constraint = kernel.constraint.inner


class NoForwardMultiply:
    """Prototype mixin: the constraint only; the forward pass reads the kernel as is.

    Same training trajectory as long as pruned kernel entries are 0 at the start
    of every step (the constraint re-zeroes them after every update).
    """

    def masked(self, name="kernel"):
        return ops.cast(getattr(self, name), self.compute_dtype)


@tf.custom_gradient
def _apply_mask_straight_through(kernel, mask):
    masked = tf.where(tf.cast(mask, tf.bool), kernel, tf.zeros_like(kernel))
    return masked, lambda upstream: (upstream, None)


class StraightThrough:
    """Prototype mixin: forward masks the kernel, but the kernel's gradient is unmasked.

    Saves the backward multiply; the constraint still zeroes pruned entries.
    """

    def masked(self, name="kernel"):
        # Read as tensors: tf.custom_gradient must not see the variables themselves.
        kernel, mask = (tf.convert_to_tensor(v) for v in (getattr(self, name),
                                                           getattr(self, f"{name}_mask")))
        masked = _apply_mask_straight_through(kernel, mask)
        return ops.cast(masked, self.compute_dtype)


class _MultiplyConstraint(keras.constraints.Constraint):
    def __init__(self, mask, inner=None):
        self.mask, self.inner = mask, inner

    def __call__(self, w):
        w = w if self.inner is None else self.inner(w)
        return w * ops.cast(self.mask, w.dtype)


class FloatMultiply:
    """Prototype mixin: ``kernel * float(mask)`` in the forward pass and the constraint.

    The first version of the masked layers applied masks so, not with ``where``.
    """

    def build(self, input_shape):
        super().build(input_shape)
        for _, kernel, mask in self.kernel_and_mask():
            kernel.constraint = _MultiplyConstraint(mask, kernel.constraint.inner)

    def masked(self, name="kernel"):
        kernel = getattr(self, name)
        mask = ops.cast(getattr(self, f"{name}_mask"), kernel.dtype)
        return ops.cast(kernel * mask, self.compute_dtype)


PROTOTYPES = {
    "float multiply": FloatMultiply,
    "no constraint": NoConstraint,
    "straight-through grad": StraightThrough,
    "no fwd multiply": NoForwardMultiply,
}


def prototype(model, mixin):
    """A copy of masked ``model`` whose masked layers also inherit ``mixin``."""

    def clone_layer(layer):
        cls = type(layer)
        if isinstance(layer, MaskedLayer):
            cls = type(f"{mixin.__name__}{cls.__name__}", (mixin, cls), {})
        return cls.from_config(layer.get_config())

    clone = keras.models.clone_model(model, clone_function=clone_layer)
    clone.set_weights(model.get_weights())
    return clone


def masked_and_plain(name, input_shape, density, seed):
    """The pruned masked zoo model and its stripped plain twin."""
    masked = models.build(name, input_shape, 10, seed=seed)
    lth_keras.prune(masked, density=density)
    plain = lth_keras.strip(masked)
    return masked, plain


def check_same_function(masked, plain, x):
    difference = np.max(np.abs(masked.predict(x, verbose=0) - plain.predict(x, verbose=0)))
    if difference > 1e-4:
        raise AssertionError(f"masked and stripped models differ by {difference}")


def measure(candidates, make_optimizer, setting, dataset, steps, repeats):
    """Compiles and warms up each ``{name: model}``; interleaved StepTimes."""
    for model in candidates.values():
        common.compile_for_training(model, make_optimizer(), **setting)
        # Traces (and XLA-compiles); without steps_per_execution, a second step settles.
        common.fit_step_time(model, dataset, max(2, setting["steps_per_execution"]))
    fns = {
        name: (lambda m=model: common.fit_step_time(m, dataset, steps))
        for name, model in candidates.items()
    }
    return common.interleaved(fns, repeats)


def main():
    args = parse_args()
    common.seed_everything(args.seed)
    rows, ratios = [], []
    with common.OtherLoad() as load:
        for name in args.models.split(","):
            input_shape, batch_size, make_optimizer = CASES[name][:3]
            steps, repeats = getattr(args, f"{name}_steps"), getattr(args, f"{name}_repeats")
            masked, plain = masked_and_plain(name, input_shape, args.density, args.seed)
            x, y = common.random_arrays(input_shape, 10, 16 * batch_size, args.seed)
            candidates = {"plain": plain, "masked": masked}
            if name in args.prototype_models.split(","):
                candidates.update({p: prototype(masked, mix) for p, mix in PROTOTYPES.items()})
            for model in candidates.values():
                check_same_function(masked, model, x[:batch_size])
            dataset = common.repeated_dataset(x, y, batch_size)
            for setting_name in getattr(args, f"{name}_settings").split(","):
                setting = SETTINGS[setting_name]
                per_execution = setting["steps_per_execution"]
                run_steps = max(per_execution, steps - steps % per_execution)
                result = measure(
                    candidates, make_optimizer, setting, dataset, run_steps, repeats
                )
                for candidate, samples in result.items():
                    wall = common.paired_ratio(samples, result["plain"], "wall")
                    rows.append([
                        name, setting_name, candidate, f"{run_steps}x{repeats}",
                        f"{1e3 * common.median(samples, 'wall'):.3f}",
                        f"{common.spread(s.wall for s in samples):.0%}",
                        f"{wall:.3f}", f"{common.paired_ratio(samples, result['plain'], 'cpu'):.3f}",
                    ])
                    if candidate == "masked":
                        ratios.append(wall)
                print(f"[{name} {setting_name}] wall ms/step per repeat: " + "; ".join(
                    f"{c} {[round(1e3 * s.wall, 2) for s in r]}" for c, r in result.items()
                ), flush=True)
    print(f"\nmasked: pruned to density {args.density}; plain = lth_keras.strip(masked); "
          f"ratios: median over rounds of interleaved repeats; {load}")
    common.print_table(
        ["model", "settings", "candidate", "steps x repeats", "ms/step", "spread", "/plain",
         "cpu-time /plain"],
        rows,
    )
    worst = max(ratios)
    verdict = "OK" if worst <= TARGET else "ABOVE TARGET"
    print(f"\nworst masked/plain ratio {worst:.3f} (target <= {TARGET}): {verdict}")


if __name__ == "__main__":
    main()
