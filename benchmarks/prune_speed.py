"""Wall time of global magnitude pruning of a wrapped ResNet-50 (25.5M prunable weights).

Times ``lth_keras.prune(model, 0.2)``: the first call on a freshly wrapped
``keras.applications.ResNet50(weights=None)`` (after TF is warmed up by
pruning a small model), then further calls, each pruning 20% of what remains,
as IMP does, down to ~10% density. ``--profile`` adds a cProfile of one more call.

    python benchmarks/prune_speed.py [--repeats 10 --profile]
"""

import argparse
import cProfile
import pstats

import common  # first: puts the checkout on sys.path

import keras

import lth_keras
from lth_keras import models

TARGET_SECONDS = 2.0


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=10, help="further prune calls")
    parser.add_argument("--amount", type=float, default=0.2, help="fraction of remaining pruned")
    parser.add_argument("--profile", action="store_true", help="cProfile one more call")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def main():
    args = parse_args()
    common.seed_everything(args.seed)
    # Warm-up: TF's eager runtime, variable reads and assigns, NumPy.
    small = models.build("lenet300_100", (28, 28, 1), 10, seed=args.seed)
    for _ in range(2):
        lth_keras.prune(small, args.amount)
    resnet = keras.applications.ResNet50(weights=None)
    with common.Stopwatch() as wrap_watch:
        model = lth_keras.wrap(resnet)
    size = sum(t.size for t in lth_keras.prunable_weights(model))
    times, rows = [], []
    with common.OtherLoad() as load:
        for call in range(1 + args.repeats):
            with common.Stopwatch() as watch:
                masks = lth_keras.prune(model, args.amount)
            times.append(watch.wall)
            rows.append(["first" if call == 0 else f"further #{call}",
                         f"{lth_keras.density(masks):.3f}", f"{watch.wall:.2f}"])
    print(f"\nResNet-50 wrapped in {wrap_watch.wall:.1f} s; {size / 1e6:.2f}M prunable weights "
          f"in {len(lth_keras.prunable_weights(model))} kernels; prune({args.amount}) global "
          f"magnitude; {load}")
    common.print_table(["call", "density after", "seconds"], rows)
    verdict = "OK" if max(times) <= TARGET_SECONDS else "ABOVE TARGET"
    print(f"slowest call {max(times):.2f} s (target <= {TARGET_SECONDS} s): {verdict}")
    if args.profile:
        profile = cProfile.Profile()
        profile.runcall(lth_keras.prune, model, args.amount)
        pstats.Stats(profile).sort_stats("cumulative").print_stats(12)


if __name__ == "__main__":
    main()
