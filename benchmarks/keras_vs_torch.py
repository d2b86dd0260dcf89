"""Training steps/s of LeNet-300-100 under Keras compile settings, and in eager PyTorch.

Keras rows: plain Keras 3 ``fit`` with its default settings, with XLA
(``jit_compile=True``), with ``steps_per_execution`` 8/32/64 (with and
without XLA), and the masked lth_keras model (pruned to 20% density) under
each XLA setting. The PyTorch row is an eager loop of the same network and
batches (Adam 1.2e-3, cross-entropy), on as many threads as TF uses. All
candidates start from the same weights; their repeats are interleaved.

    python benchmarks/keras_vs_torch.py [--steps 384 --repeats 9]
"""

import argparse

import common  # first: puts the checkout on sys.path

import keras

import lth_keras
from lth_keras import models

INPUT_SHAPE, NUM_CLASSES, LEARNING_RATE = (28, 28, 1), 10, 1.2e-3
# name: (jit_compile, steps_per_execution); "auto" is Keras' default (no XLA on CPU).
KERAS_SETTINGS = {
    "default": ("auto", 1),
    "spe32": ("auto", 32),
    "xla": (True, 1),
    "xla+spe8": (True, 8),
    "xla+spe32": (True, 32),
    "xla+spe64": (True, 64),
}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch_size", type=int, default=60)
    parser.add_argument("--steps", type=int, default=384, help="steps per repeat")
    parser.add_argument("--repeats", type=int, default=9, help="interleaved repeats")
    parser.add_argument("--density", type=float, default=0.2, help="masked model's density")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def keras_candidates(masked, dataset, steps):
    """``{row name: fn}`` timing fit of a compiled, warmed-up copy per setting."""
    fns = {}
    for kind in ("plain", "masked"):
        for setting, (jit, per_execution) in KERAS_SETTINGS.items():
            if kind == "masked" and jit is not True:
                continue
            if kind == "plain":
                model = lth_keras.strip(masked)
            else:
                model = lth_keras.wrap(lth_keras.strip(masked))
                lth_keras.set_masks(model, lth_keras.get_masks(masked))
            common.compile_for_training(
                model, keras.optimizers.Adam(LEARNING_RATE), jit, per_execution
            )
            if jit is True and not model.jit_compile:
                raise RuntimeError(f"{kind} {setting}: Keras refused jit_compile=True")
            common.fit_step_time(model, dataset, 2 * per_execution)  # trace, compile
            run_steps = max(per_execution, steps - steps % per_execution)
            fns[f"keras {kind} {setting}"] = (
                lambda m=model, n=run_steps: common.fit_step_time(m, dataset, n)
            )
    return fns


def torch_candidate(plain, x, y, batch_size, threads, steps):
    """A fn timing an eager PyTorch loop of ``plain``'s network, or None."""
    try:
        import torch
    except ImportError:
        print("torch is not importable: skipping the PyTorch row "
              "(install it with `pip install torch==2.13.0`).")
        return None
    torch.set_num_threads(threads)
    dense = [layer for layer in plain.layers if isinstance(layer, keras.layers.Dense)]
    linears = [torch.nn.Linear(*layer.kernel.shape) for layer in dense]
    with torch.no_grad():
        for linear, layer in zip(linears, dense):
            linear.weight.copy_(torch.from_numpy(layer.kernel.numpy().T))
            linear.bias.copy_(torch.from_numpy(layer.bias.numpy()))
    net = torch.nn.Sequential(
        torch.nn.Flatten(), linears[0], torch.nn.ReLU(), linears[1], torch.nn.ReLU(), linears[2]
    )
    optimizer = torch.optim.Adam(net.parameters(), lr=LEARNING_RATE)
    loss_fn = torch.nn.CrossEntropyLoss()
    n = len(x) // batch_size
    batches = [
        (torch.from_numpy(x[i * batch_size:(i + 1) * batch_size]),
         torch.from_numpy(y[i * batch_size:(i + 1) * batch_size]).long())
        for i in range(n)
    ]

    def run(num_steps):
        with common.Stopwatch() as watch:
            for step in range(num_steps):
                inputs, labels = batches[step % n]
                optimizer.zero_grad(set_to_none=True)
                loss_fn(net(inputs), labels).backward()
                optimizer.step()
        return common.StepTime(watch.wall / num_steps, watch.cpu / num_steps)

    run(20)  # warm-up: allocator, thread pool
    return lambda: run(steps)


def main():
    args = parse_args()
    common.seed_everything(args.seed)
    threads = common.tf_threads()
    masked = models.build("lenet300_100", INPUT_SHAPE, NUM_CLASSES, seed=args.seed)
    lth_keras.prune(masked, density=args.density)
    x, y = common.random_arrays(INPUT_SHAPE, NUM_CLASSES, 16 * args.batch_size, args.seed)
    dataset = common.repeated_dataset(x, y, args.batch_size)
    candidates = keras_candidates(masked, dataset, args.steps)
    torch_run = torch_candidate(lth_keras.strip(masked), x, y, args.batch_size, threads, args.steps)
    if torch_run is not None:
        candidates["torch eager"] = torch_run
    with common.OtherLoad() as load:
        result = common.interleaved(candidates, args.repeats)
    for name, samples in result.items():
        print(f"[{name}] ms/step per repeat: {[round(1e3 * s.wall, 2) for s in samples]}")
    base = common.median(result["keras plain default"], "wall")
    rows = []
    for name, samples in result.items():
        wall = common.median(samples, "wall")
        rows.append([
            name, f"{1 / wall:.0f}", f"{1e3 * wall:.3f}",
            f"{common.spread(s.wall for s in samples):.0%}", f"{base / wall:.2f}",
        ])
    print(f"\nLeNet-300-100, batch {args.batch_size}, Adam {LEARNING_RATE}, {threads} threads; "
          f"medians of {args.repeats} interleaved repeats; {load}")
    common.print_table(["candidate", "steps/s", "ms/step", "spread", "x default"], rows)
    plain = {n: common.median(s, "wall") for n, s in result.items() if n.startswith("keras plain")}
    best = min(plain, key=plain.get)
    best_setting = best.removeprefix("keras plain ")
    masked_best = common.median(result[f"keras masked {best_setting}"], "wall") if (
        f"keras masked {best_setting}" in result) else None
    print(f"\nfastest plain Keras setting: {best_setting} {KERAS_SETTINGS[best_setting]} "
          f"(jit_compile, steps_per_execution), {1 / plain[best]:.0f} steps/s")
    if masked_best is not None:
        print(f"masked under {best_setting}: {1 / masked_best:.0f} steps/s, "
              f"masked/plain step time {masked_best / plain[best]:.3f}")
    if torch_run is not None:
        torch_wall = common.median(result["torch eager"], "wall")
        print(f"torch eager: {1 / torch_wall:.0f} steps/s; fastest Keras / torch steps/s "
              f"{torch_wall / plain[best]:.2f}")


if __name__ == "__main__":
    main()
