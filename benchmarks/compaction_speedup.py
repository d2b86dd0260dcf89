"""Measured training-time reduction of compacted layer tickets against their
multiply-add reduction (Jordao et al. 2023 report training speed-ups of tickets
with residual blocks removed).

For each ResNet, the dense network and tickets with 1..4 blocks removed are
compacted into plain Keras models (``lth_keras.structured.compact``), warmed up,
then timed side by side in this process with ``model.fit`` on random CIFAR-sized
data, their repeats interleaved. Blocks removed (``--which``) are the ones
SNIP or GRASP score lowest at theta_0 (summed per block, on one random batch),
as the layer lottery removes them, or the first or the last removable ones:
early blocks work on large feature maps, late ones on small maps with many
channels, so a multiply-add does not cost the same time everywhere.
Target: time reduction >= 0.9 x multiply-add reduction.

    python benchmarks/compaction_speedup.py [--models resnet20,resnet32] [--remove 1,2,3,4]
"""

import argparse

import common  # first: puts the checkout on sys.path

import keras

from lth_keras import metrics
from lth_keras.models import residual_blocks
from lth_keras.structured import (block_criterion, choose_blocks, compact, gated_resnet,
                                  removable_blocks, remove_blocks)
from lth_keras.structured.criteria import SALIENCY

TARGET = 0.9


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="resnet20,resnet32", help="comma-separated zoo ResNets")
    parser.add_argument("--remove", default="1,2,3,4", help="comma-separated numbers of blocks")
    parser.add_argument("--which", default="grasp,snip,first,last",
                        help="blocks removed: scored lowest by grasp/snip, or first/last removable")
    parser.add_argument("--input_shape", default="32,32,3")
    parser.add_argument("--batch_size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=8, help="training steps per repeat")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved repeats")
    parser.add_argument("--jit_compile", action=argparse.BooleanOptionalAction, default=False,
                        help="XLA (off: faster for these ResNets on CPU)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    unknown = set(args.which.split(",")) - {*SALIENCY, "first", "last"}
    if unknown:
        parser.error(f"--which: unknown {sorted(unknown)}; expected grasp, snip, first or last")
    return args


def candidates(name, shape, args):
    """``{label: (compacted model, multiply-adds)}``: the dense net, then the tickets."""
    out = {}

    def add(label, blocks):
        model = gated_resnet(name, shape, 10, seed=args.seed)
        remove_blocks(model, blocks)
        small = compact(model)
        out[label] = (small, metrics.report(small)["dense_multiply_adds"])

    add("dense", [])
    theta_0 = gated_resnet(name, shape, 10, seed=args.seed)
    allowed = removable_blocks(theta_0)
    x, y = common.random_arrays(shape, 10, args.batch_size, args.seed)
    for which in args.which.split(","):
        if which in SALIENCY:
            scores = block_criterion(which, inputs=x, labels=y).scores(
                theta_0, residual_blocks(theta_0))
        for p in (int(v) for v in args.remove.split(",")):
            if which in SALIENCY:
                chosen = choose_blocks(theta_0, scores, p)
            else:
                chosen = allowed[:p] if which == "first" else allowed[len(allowed) - p:]
            add(f"{which} {p}", chosen)
    return out


def main():
    args = parse_args()
    shape = tuple(int(v) for v in args.input_shape.split(","))
    x, y = common.random_arrays(shape, 10, args.batch_size * 4, args.seed)
    data = common.repeated_dataset(x, y, args.batch_size)
    print(f"TF threads: {common.tf_threads()}; batch {args.batch_size}; input {shape}; "
          f"XLA {args.jit_compile}; {args.repeats} interleaved repeats of {args.steps} steps")
    rows, verdicts = [], []
    for name in args.models.split(","):
        common.seed_everything(args.seed)
        models = candidates(name, shape, args)
        for model, _ in models.values():
            common.compile_for_training(model, keras.optimizers.SGD(0.1, momentum=0.9),
                                        args.jit_compile, steps_per_execution=args.steps)
            common.fit_step_time(model, data, args.steps)  # warm-up: tracing, compilation
        with common.OtherLoad() as load:
            samples = common.interleaved(
                {label: (lambda m=m: common.fit_step_time(m, data, args.steps))
                 for label, (m, _) in models.items()}, args.repeats)
        dense_wall = common.median(samples["dense"], "wall")
        dense_cpu = common.median(samples["dense"], "cpu")
        dense_macs = models["dense"][1]
        for label, (model, macs) in models.items():
            wall, cpu = common.median(samples[label], "wall"), common.median(samples[label], "cpu")
            flops_cut = 1 - macs / dense_macs
            wall_cut, cpu_cut = 1 - wall / dense_wall, 1 - cpu / dense_cpu
            ratios = (wall_cut / flops_cut, cpu_cut / flops_cut) if flops_cut else None
            rows.append([name, label, f"{macs / 1e6:.1f}M", f"{100 * flops_cut:.1f}%",
                         f"{1000 * wall:.0f}", f"{100 * wall_cut:.1f}%", f"{100 * cpu_cut:.1f}%",
                         "-" if ratios is None else f"{ratios[0]:.2f}",
                         "-" if ratios is None else f"{ratios[1]:.2f}",
                         f"{100 * common.spread(s.wall for s in samples[label]):.0f}%"])
            if ratios is not None:
                verdicts.append([r >= TARGET for r in ratios])
        print(f"{name}: {load}")
    common.print_table(["model", "blocks removed", "mult-adds", "mult-add cut", "ms/step",
                        "time cut (wall)", "time cut (cpu)", "wall cut / mult-add cut",
                        "cpu cut / mult-add cut", "spread"], rows)
    print(f"target: time cut >= {TARGET} x mult-add cut; met by {sum(v[0] for v in verdicts)} "
          f"(wall) and {sum(v[1] for v in verdicts)} (cpu) of {len(verdicts)} tickets")


if __name__ == "__main__":
    main()
