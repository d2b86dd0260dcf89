"""Training step time of a masked model relative to the same plain Keras model.

The masked model is a zoo model pruned to ~20% density; the plain model is
``lth_keras.strip`` of it (same architecture, same weights). Both train with
``model.fit`` on random data held in memory, under the same compile settings:
Keras' defaults and the fast ones (XLA, 32 steps per execution). Each is warmed
up, then their repeats are interleaved; the ratio is of the median step times.

    python benchmarks/masked_step_time.py [--models lenet300_100,resnet20]
"""

import argparse

import common  # first: puts the checkout on sys.path

import keras
import numpy as np
from keras import ops

import lth_keras
from lth_keras import models
from lth_keras.layers import MaskedLayer

# name: (input shape, batch size, optimizer factory, default steps per repeat).
CASES = {
    "lenet300_100": ((28, 28, 1), 60, lambda: keras.optimizers.Adam(1.2e-3), 256),
    "resnet20": ((32, 32, 3), 128, lambda: keras.optimizers.SGD(0.1, momentum=0.9), 32),
}
# Keras' compile defaults ("auto" is no XLA on a CPU-only machine) and the fast ones.
SETTINGS = {
    "default": dict(jit_compile="auto", steps_per_execution=1),
    "xla+spe32": dict(jit_compile=True, steps_per_execution=32),
}
TARGET = 1.05


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=",".join(CASES), help="comma-separated zoo names")
    parser.add_argument("--settings", default=",".join(SETTINGS), help="comma-separated")
    parser.add_argument("--density", type=float, default=0.2, help="density after pruning")
    parser.add_argument("--repeats", type=int, default=11, help="interleaved repeats")
    parser.add_argument("--lenet300_100_steps", type=int, default=None, help="steps per repeat")
    parser.add_argument("--resnet20_steps", type=int, default=None, help="steps per repeat")
    parser.add_argument("--prototypes", action=argparse.BooleanOptionalAction, default=True,
                        help="also time the prototype alternatives to the masked layers")
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


PROTOTYPES = {"no constraint": NoConstraint, "no fwd multiply": NoForwardMultiply}


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
        # Two executions: the first traces (and XLA-compiles), the second settles.
        common.fit_step_time(model, dataset, 2 * setting["steps_per_execution"])
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
            input_shape, batch_size, make_optimizer, steps = CASES[name]
            steps = getattr(args, f"{name}_steps") or steps
            masked, plain = masked_and_plain(name, input_shape, args.density, args.seed)
            x, y = common.random_arrays(input_shape, 10, 16 * batch_size, args.seed)
            candidates = {"plain": plain, "masked": masked}
            if args.prototypes:
                candidates.update({p: prototype(masked, mix) for p, mix in PROTOTYPES.items()})
            for model in candidates.values():
                check_same_function(masked, model, x[:batch_size])
            dataset = common.repeated_dataset(x, y, batch_size)
            for setting_name in args.settings.split(","):
                setting = SETTINGS[setting_name]
                per_execution = setting["steps_per_execution"]
                run_steps = max(per_execution, steps - steps % per_execution)
                result = measure(
                    candidates, make_optimizer, setting, dataset, run_steps, args.repeats
                )
                plain_wall = common.median(result["plain"], "wall")
                plain_cpu = common.median(result["plain"], "cpu")
                for candidate, samples in result.items():
                    wall = common.median(samples, "wall")
                    cpu = common.median(samples, "cpu")
                    rows.append([
                        name, setting_name, candidate, run_steps, f"{1e3 * wall:.3f}",
                        f"{common.spread(s.wall for s in samples):.0%}",
                        f"{wall / plain_wall:.3f}", f"{cpu / plain_cpu:.3f}",
                    ])
                    if candidate == "masked":
                        ratios.append(wall / plain_wall)
                print(f"[{name} {setting_name}] wall ms/step per repeat: " + "; ".join(
                    f"{c} {[round(1e3 * s.wall, 2) for s in r]}" for c, r in result.items()
                ), flush=True)
    print(f"\nmasked: pruned to density {args.density}; plain = lth_keras.strip(masked); "
          f"medians of {args.repeats} interleaved repeats; {load}")
    common.print_table(
        ["model", "settings", "candidate", "steps", "ms/step", "spread", "/plain",
         "cpu-time /plain"],
        rows,
    )
    worst = max(ratios)
    verdict = "OK" if worst <= TARGET else "ABOVE TARGET"
    print(f"\nworst masked/plain ratio {worst:.3f} (target <= {TARGET}): {verdict}")


if __name__ == "__main__":
    main()
