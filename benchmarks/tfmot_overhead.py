"""Step-time overhead of TFMOT's pruning wrapper over plain tf_keras, beside
that of lth_keras's masked layers over plain Keras 3.

LeNet-300-100, batch 60, Adam 1.2e-3, random data held in memory, under
Keras' default compile settings and the fast ones (XLA, 32 steps per
execution). Each half compares a pruned model with its plain twin, same
weights, each warmed up, their repeats interleaved; the ratio is of median
step times, as in ``masked_step_time.py``:

- Keras 3 (this process): ``lth_keras`` masked LeNet pruned to 20% density
  against ``lth_keras.strip`` of it;
- tf_keras (a subprocess, since the two Kerases cannot share a process):
  the same network wrapped by TFMOT's ``prune_low_magnitude`` under
  ``ConstantSparsity(0.8)`` (with its ``UpdatePruningStep`` callback) against
  the plain tf_keras network.

    python benchmarks/tfmot_overhead.py [--steps 256 --repeats 7]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

TF_KERAS_HALF = "--tf_keras_half"
INPUT_SHAPE, NUM_CLASSES, BATCH_SIZE, LEARNING_RATE = (28, 28, 1), 10, 60, 1.2e-3
# Keras' compile defaults ("auto"/None is no XLA on a CPU-only machine) and the fast ones.
SETTINGS = {
    "default": dict(jit_compile="auto", steps_per_execution=1),
    "xla+spe32": dict(jit_compile=True, steps_per_execution=32),
}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=256, help="steps per repeat")
    parser.add_argument("--repeats", type=int, default=7, help="interleaved repeats")
    parser.add_argument("--density", type=float, default=0.2, help="density of the pruned models")
    parser.add_argument("--settings", default=",".join(SETTINGS), help="comma-separated")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


# The tf_keras half: runs in its own process, imports neither Keras 3 nor common.py.

def tf_keras_half(job_path):
    """Times plain tf_keras against TFMOT's wrapper; prints the samples as JSON."""
    os.environ["TF_USE_LEGACY_KERAS"] = "1"  # before TensorFlow: tf.keras is tf_keras
    import numpy as np
    import tensorflow as tf
    import tensorflow_model_optimization as tfmot
    import tf_keras

    with open(job_path) as f:
        job = json.load(f)
    sparsity = tfmot.sparsity.keras

    def cpu_seconds():
        t = os.times()
        return t.user + t.system

    class EpochTimer(tf_keras.callbacks.Callback):
        # common.fit_step_time's measurement: one fit epoch, begin to end.
        def on_epoch_begin(self, epoch, logs=None):
            self.start = (time.perf_counter(), cpu_seconds())

        def on_epoch_end(self, epoch, logs=None):
            self.wall = time.perf_counter() - self.start[0]
            self.cpu = cpu_seconds() - self.start[1]

    def lenet(prune):
        inputs = tf_keras.Input(INPUT_SHAPE)
        x = tf_keras.layers.Flatten()(inputs)
        for name, units, activation in (("fc1", 300, "relu"), ("fc2", 100, "relu"),
                                        ("output", NUM_CLASSES, None)):
            layer = tf_keras.layers.Dense(units, activation=activation, name=name)
            if prune:
                layer = sparsity.prune_low_magnitude(layer, pruning_schedule=sparsity.ConstantSparsity(
                    1.0 - job["density"], begin_step=0, frequency=100))
            x = layer(x)
        model = tf_keras.Model(inputs, x)
        with np.load(job["weights"]) as w:
            for name in ("fc1", "fc2", "output"):
                layer = model.get_layer(name if not prune else f"prune_low_magnitude_{name}")
                getattr(layer, "layer", layer).set_weights([w[f"{name}/0"], w[f"{name}/1"]])
        return model

    with np.load(job["data"]) as d:
        x, y = d["x"], d["y"]
    dataset = (tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH_SIZE, drop_remainder=True)
               .cache().repeat().prefetch(tf.data.AUTOTUNE))
    out = {}
    for name in job["settings"]:
        setting = SETTINGS[name]
        jit = None if setting["jit_compile"] == "auto" else setting["jit_compile"]
        spe = setting["steps_per_execution"]
        steps = max(spe, job["steps"] - job["steps"] % spe)
        candidates = {"plain": (lenet(False), []),
                      "tfmot": (lenet(True), [sparsity.UpdatePruningStep()])}
        for model, _ in candidates.values():
            model.compile(optimizer=tf_keras.optimizers.Adam(LEARNING_RATE),
                          loss=tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                          jit_compile=jit, steps_per_execution=spe)

        def fit_step_time(model, callbacks, steps):
            # TFMOT's callback runs inside the timed epoch: it is part of its training.
            timer = EpochTimer()
            model.fit(dataset, epochs=1, steps_per_epoch=steps, shuffle=False, verbose=0,
                      callbacks=[*callbacks, timer])
            return timer.wall / steps, timer.cpu / steps

        for model, callbacks in candidates.values():
            fit_step_time(model, callbacks, 2 * spe)  # traces (and XLA-compiles), then settles
        samples = {c: [] for c in candidates}
        for _ in range(job["repeats"]):
            for c, (model, callbacks) in candidates.items():
                samples[c].append(fit_step_time(model, callbacks, steps))
        out[name] = {"steps": steps, "samples": samples}
    print(json.dumps(out))


# The Keras 3 half and the report ----------------------------------------------------

def keras3_half(args, common, scratch):
    """Times lth_keras's masked LeNet against its stripped twin; writes the
    tf_keras half's inputs (the same data and weights) to ``scratch``."""
    import keras
    import numpy as np

    import lth_keras
    from lth_keras import models

    masked = models.build("lenet300_100", INPUT_SHAPE, NUM_CLASSES, seed=args.seed)
    lth_keras.prune(masked, density=args.density)
    plain = lth_keras.strip(masked)
    x, y = common.random_arrays(INPUT_SHAPE, NUM_CLASSES, 16 * BATCH_SIZE, args.seed)
    np.savez(os.path.join(scratch, "data.npz"), x=x, y=y)
    # The dense theta_0: TFMOT prunes it itself, by magnitude, at its first turn.
    dense = lth_keras.strip(models.build("lenet300_100", INPUT_SHAPE, NUM_CLASSES, seed=args.seed))
    np.savez(os.path.join(scratch, "weights.npz"),
             **{f"{l.name}/{i}": w for l in dense.layers for i, w in enumerate(l.get_weights())})
    dataset = common.repeated_dataset(x, y, BATCH_SIZE)
    out = {}
    for name in args.settings.split(","):
        setting = SETTINGS[name]
        spe = setting["steps_per_execution"]
        steps = max(spe, args.steps - args.steps % spe)
        candidates = {"plain": plain, "masked": masked}
        for model in candidates.values():
            common.compile_for_training(model, keras.optimizers.Adam(LEARNING_RATE), **setting)
            common.fit_step_time(model, dataset, 2 * spe)
        samples = common.interleaved(
            {c: (lambda m=m: common.fit_step_time(m, dataset, steps)) for c, m in candidates.items()},
            args.repeats)
        out[name] = {"steps": steps, "samples": {c: [tuple(s) for s in v] for c, v in samples.items()}}
    return out


def run_tf_keras_half(args, scratch):
    job = {"density": args.density, "steps": args.steps, "repeats": args.repeats,
           "settings": args.settings.split(","), "data": os.path.join(scratch, "data.npz"),
           "weights": os.path.join(scratch, "weights.npz")}
    path = os.path.join(scratch, "job.json")
    with open(path, "w") as f:
        json.dump(job, f)
    env = {**os.environ, "TF_USE_LEGACY_KERAS": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, os.path.abspath(__file__), TF_KERAS_HALF, path],
                          env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"the tf_keras half failed (is the tfmot extra installed? pip install -e "
                 f"'.[tfmot]'):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    args = parse_args()
    import common  # first Keras 3 import: the tf_keras half never reaches here

    common.seed_everything(args.seed)
    with tempfile.TemporaryDirectory() as scratch:
        with common.OtherLoad() as keras3_load:
            keras3 = keras3_half(args, common, scratch)
        before = os.times()
        with common.OtherLoad() as tf_keras_load:
            tf_keras = run_tf_keras_half(args, scratch)
        after = os.times()
    # The subprocess is this benchmark, not other load: take its CPU time out.
    child_cores = ((after.children_user + after.children_system
                    - before.children_user - before.children_system)
                   / (after.elapsed - before.elapsed))
    rows, ratios = [], {}
    for half, results, pruned in (("Keras 3", keras3, "masked"), ("tf_keras", tf_keras, "tfmot")):
        for setting, result in results.items():
            samples = {c: [common.StepTime(*s) for s in v] for c, v in result["samples"].items()}
            plain_wall = common.median(samples["plain"], "wall")
            plain_cpu = common.median(samples["plain"], "cpu")
            for candidate, ss in samples.items():
                wall, cpu = common.median(ss, "wall"), common.median(ss, "cpu")
                rows.append([half, setting, candidate, result["steps"], f"{1e3 * wall:.3f}",
                             f"{common.spread(s.wall for s in ss):.0%}",
                             f"{wall / plain_wall:.3f}", f"{cpu / plain_cpu:.3f}"])
            ratios[(half, setting)] = (common.median(samples[pruned], "wall") / plain_wall,
                                       common.median(samples[pruned], "cpu") / plain_cpu)
    print(f"LeNet-300-100, batch {BATCH_SIZE}, pruned to density {args.density}; medians of "
          f"{args.repeats} interleaved repeats of {args.steps} steps")
    print(f"Keras 3 half: {keras3_load}")
    if tf_keras_load.cores is not None:
        print(f"tf_keras half: other processes kept "
              f"{max(0.0, tf_keras_load.cores - child_cores):.2f} of {os.cpu_count()} cores "
              "busy meanwhile")
    common.print_table(["half", "settings", "candidate", "steps", "ms/step", "spread", "/plain",
                        "cpu-time /plain"], rows)
    print()
    # CPU time of this process is what other processes on the machine inflate least.
    common.print_table(
        ["settings", "lth_keras masked / plain Keras 3 (wall, cpu)",
         "TFMOT wrapper / plain tf_keras (wall, cpu)"],
        [[s, "{:.3f}, {:.3f}".format(*ratios[("Keras 3", s)]),
          "{:.3f}, {:.3f}".format(*ratios[("tf_keras", s)])] for s in args.settings.split(",")])


if __name__ == "__main__":
    if sys.argv[1:2] == [TF_KERAS_HALF]:
        tf_keras_half(sys.argv[2])
    else:
        main()
