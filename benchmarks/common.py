"""Timing helpers shared by the benchmarks: seeded random data, fit step time,
interleaved medians, and a plain-text table.

Every benchmark compares candidates measured in one process, each repeat of
each candidate interleaved with the others, so that drift of the machine
(thermal state, other processes) hits all candidates alike.
"""

import collections
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.get_logger().setLevel("ERROR")

# The benchmarks run from a checkout (`python benchmarks/<name>.py`), installed or not.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def seed_everything(seed):
    """Seeds Python, NumPy, TensorFlow and Keras (and torch, if imported)."""
    keras.utils.set_random_seed(seed)
    try:
        import torch
    except ImportError:
        return
    torch.manual_seed(seed)


def tf_threads():
    """The number of threads TF runs one op on (its default: the core count)."""
    return tf.config.threading.get_intra_op_parallelism_threads() or os.cpu_count()


def random_arrays(input_shape, num_classes, num_samples, seed):
    """Random float32 inputs in [0, 1) and int32 labels, held in memory."""
    rng = np.random.default_rng(seed)
    x = rng.random((num_samples, *input_shape), dtype=np.float32)
    y = rng.integers(0, num_classes, num_samples).astype(np.int32)
    return x, y


def repeated_dataset(x, y, batch_size):
    """An endless, cached tf.data pipeline of full batches of (x, y)."""
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size, drop_remainder=True)
    return data.cache().repeat().prefetch(tf.data.AUTOTUNE)


def compile_for_training(model, optimizer, jit_compile, steps_per_execution):
    """Compiles with a sparse cross-entropy on logits; returns the model."""
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=jit_compile,
        steps_per_execution=steps_per_execution,
    )
    return model


# Seconds per step: wall clock, and CPU time of this process (all its threads),
# which other processes on the machine inflate far less than the wall clock.
StepTime = collections.namedtuple("StepTime", ["wall", "cpu"])


def _cpu_seconds():
    t = os.times()
    return t.user + t.system


class Stopwatch:
    """Context manager: ``wall`` and ``cpu`` (this process) seconds inside it."""

    def __enter__(self):
        self._start = (time.perf_counter(), _cpu_seconds())
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self._start[0]
        self.cpu = _cpu_seconds() - self._start[1]


class _EpochTimer(keras.callbacks.Callback):
    # Times the training loop only, not fit()'s set-up of iterators and callbacks.
    def on_epoch_begin(self, epoch, logs=None):
        self.watch = Stopwatch().__enter__()

    def on_epoch_end(self, epoch, logs=None):
        self.watch.__exit__(None, None, None)


def fit_step_time(model, dataset, steps):
    """The :class:`StepTime` of one ``model.fit`` epoch of ``steps`` steps."""
    timer = _EpochTimer()
    model.fit(
        dataset, epochs=1, steps_per_epoch=steps, shuffle=False, verbose=0, callbacks=[timer]
    )
    return StepTime(timer.watch.wall / steps, timer.watch.cpu / steps)


def interleaved(candidates, repeats):
    """Runs each candidate once per round, ``repeats`` rounds.

    Args:
      candidates: ``{name: fn}``, each ``fn()`` returning one measurement;
        callers warm every candidate up first.
      repeats: rounds to run.

    Returns:
      ``{name: [measurement of each round]}``.
    """
    samples = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, fn in candidates.items():
            samples[name].append(fn())
    return samples


def paired_ratio(samples, base, field):
    """The median over rounds of ``samples[i].field / base[i].field``.

    Each round's two measurements ran back to back, so drift slower than a
    round cancels in the ratio; steadier than a ratio of medians.
    """
    return statistics.median(getattr(s, field) / getattr(b, field) for s, b in zip(samples, base))


def median(samples, field=None):
    """The median of measurements, or of one field of namedtuple measurements."""
    return statistics.median(s if field is None else getattr(s, field) for s in samples)


class OtherLoad:
    """Context manager: how many cores other processes kept busy meanwhile.

    Read from /proc/stat (Linux) minus this process's own CPU time; ``cores``
    is None where /proc/stat is missing. Tells whether a noisy number is noise.
    """

    def __enter__(self):
        self._start = (_machine_busy_seconds(), _cpu_seconds(), time.perf_counter())
        return self

    def __exit__(self, *exc):
        busy, own, wall = self._start
        end_busy = _machine_busy_seconds()
        self.cores = None
        if busy is not None and end_busy is not None:
            other = (end_busy - busy) - (_cpu_seconds() - own)
            self.cores = max(0.0, other / (time.perf_counter() - wall))

    def __str__(self):
        if self.cores is None:
            return "other processes' load unknown"
        return f"other processes kept {self.cores:.2f} of {os.cpu_count()} cores busy meanwhile"


def _machine_busy_seconds():
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except OSError:
        return None
    # user nice system idle iowait irq softirq steal ...: all but idle and iowait.
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def spread(values):
    """(max - min) / median, the relative spread of repeated measurements."""
    values = list(values)
    return (max(values) - min(values)) / statistics.median(values)


def print_table(headers, rows):
    """Prints rows (lists of cells) under headers, columns padded to fit."""
    cells = [[str(c) for c in row] for row in [headers, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for i, row in enumerate(cells):
        padded = [c.ljust(w) if j == 0 else c.rjust(w) for j, (c, w) in enumerate(zip(row, widths))]
        print("  ".join(padded))
        if i == 0:
            print("  ".join("-" * w for w in widths))
