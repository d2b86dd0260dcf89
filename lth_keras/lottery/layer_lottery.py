"""Layer-pruning lottery tickets (Jordao et al. 2023, "When Layers Play the
Lottery, all Tickets Win at Initialization").

For every seed, the dense network F is trained once; then, for every p in
``--remove``:

- Algorithm 1 (``--algorithm=1``): score the blocks of the *trained* F, drop
  the p lowest, build the smaller network F' from the kept weights, and
  retrain it: ``--retrain=rewind`` from theta_i (the weights at iteration
  ``--rewind_iteration``) with the schedule replayed from i, or
  ``--retrain=lr_rewind`` from the trained weights with the schedule replayed
  from i (learning-rate rewinding, Renda et al. 2020).
- Algorithm 2 (``--algorithm=2``, default): score the blocks at theta_0 (SNIP
  or GraSP aggregated per block; GraSP is the paper's default), drop p, train
  F' from theta_0.

Each layer ticket is compared with a filter-removal ticket whose multiply-adds
are as close as possible to the layer ticket's (the comparison the paper
makes), found and trained the same way. Tickets are physically compacted, so
their measured training time, energy and CO2 are real. A ticket wins when
Acc(F') + xi >= Acc(F) (xi in percentage points).
"""

import dataclasses
import os
import time
import uuid

import keras
import tensorflow as tf

from lth_keras import metrics
from lth_keras.callbacks.rewind import RewindPoint
from lth_keras.data import load as load_data
from lth_keras.lottery.imp import resolve_iterations
from lth_keras.models import residual_blocks
from lth_keras.runs.config import RunConfig, _choice, field
from lth_keras.runs.experiment import procedure
from lth_keras.runs.results import summarize as summarize_over_seeds, write_results
from lth_keras.structured import (
    AGGREGATIONS, BLOCK_CRITERION_NAMES, FILTER_CRITERION_NAMES, GateSummaries, add_channel_gates,
    block_criterion, choose_blocks, compact, effective_report, filter_criterion, gated_resnet,
    prune_filters_to_multiply_adds, removable_blocks, removable_groups, remove_blocks)
from lth_keras.training.trainer import Trainer

ALGORITHMS = (1, 2)
RETRAIN_MODES = ("rewind", "lr_rewind")
RESNETS = ("resnet20", "resnet32", "resnet56", "resnet110", "resnet18")
# codecarbon CPU power modes that read a power meter; the others estimate from TDP x load.
MEASURED_POWER_MODES = ("intel_rapl", "intel_power_gadget", "apple_powermetrics")


@dataclasses.dataclass
class LayerLotteryConfig(RunConfig):
    """The layer-lottery flags. Training defaults: SGD 0.1, momentum 0.9, weight
    decay 1e-4, batch 128 (the ResNet-20 CIFAR-10 recipe of Frankle et al. 2020),
    with a cosine schedule so that short runs decay fully."""

    model: str = field("resnet20", f"A zoo ResNet, one of {RESNETS}.")
    optimizer: str = field("sgd", "Optimizer.")
    learning_rate: float = field(0.1, "Peak learning rate.")
    weight_decay: float = field(1e-4, "Decoupled weight decay.")
    schedule: str = field("cosine", "Learning-rate schedule.")
    batch_size: int = field(128, "Training batch size.")
    epochs: float = field(10.0, "Training epochs per run, if --iterations is 0.")
    jit_compile: bool = field(False, "Compile training steps with XLA (off: a ResNet-20 step "
                                     "ran 2.2x slower with XLA on a 2-core CPU).")
    remove: list = field([1, 2, 3], "p: numbers of blocks to remove, one ticket each.", item=int)
    criterion: list = field(["grasp"], f"Block criteria, any of {list(BLOCK_CRITERION_NAMES)}; "
                                       "several share the dense runs.")
    algorithm: int = field(2, "1: score after training, retrain (Jordao et al. Alg. 1); "
                              "2: score at theta_0, train (Alg. 2).")
    seeds: list = field([], "Seeds; every cell is repeated for each (empty: --seed).", item=int)
    xi: float = field(0.0, "Tolerance of the win verdict Acc(F') + xi >= Acc(F), in percentage points.")
    aggregation: str = field("sum", f"How SNIP/GraSP weight scores become a block or filter score, {AGGREGATIONS}.")
    filter_tickets: bool = field(True, "Also train the filter-removal ticket of the same multiply-adds.")
    filter_criterion: str = field("", f"Filter criterion, one of {list(FILTER_CRITERION_NAMES)} "
                                      "(empty: --criterion if it scores filters, else l1).")
    score_examples_per_class: int = field(10, "Class-balanced scoring batch (SNIP/GraSP/CKA/Taylor).")
    retrain: str = field("rewind", f"Algorithm 1's retraining, one of {RETRAIN_MODES}.")
    rewind_iteration: int = field(0, "Algorithm 1's i: the iteration rewound to.")
    gate_l1: float = field(1e-4, "L1 penalty on the learned block gates (--criterion=gate).")
    energy: bool = field(True, "Measure energy and CO2 with codecarbon's offline tracker.")
    country_iso_code: str = field("USA", "Country (ISO 3166-1 alpha-3) whose carbon intensity "
                                         "converts energy to CO2 (no network is used).")

    def validate(self):
        super().validate()
        _choice("model", self.model, RESNETS)
        if not self.criterion or len(set(self.criterion)) != len(self.criterion):
            raise ValueError(f"--criterion: expected distinct criteria, got {self.criterion}.")
        for name in self.criterion:
            _choice("criterion", name, BLOCK_CRITERION_NAMES)
        _choice("algorithm", self.algorithm, ALGORITHMS)
        _choice("aggregation", self.aggregation, AGGREGATIONS)
        _choice("retrain", self.retrain, RETRAIN_MODES)
        if self.filter_criterion:
            _choice("filter_criterion", self.filter_criterion, FILTER_CRITERION_NAMES)
        if not self.remove or any(p < 1 for p in self.remove):
            raise ValueError(f"--remove: expected positive numbers of blocks, got {self.remove}.")
        if len(set(self.remove)) != len(self.remove):
            raise ValueError(f"--remove: repeated values in {self.remove}.")
        if len(set(self.seeds)) != len(self.seeds) or any(s < 0 for s in self.seeds):
            raise ValueError(f"--seeds: expected distinct non-negative seeds, got {self.seeds}.")
        if "gate" in self.criterion and self.algorithm != 1:
            raise ValueError("--criterion: 'gate' ranks learned gates, so it needs --algorithm=1.")
        if self.score_examples_per_class < 1:
            raise ValueError(f"--score_examples_per_class: expected >= 1, got "
                             f"{self.score_examples_per_class}.")
        if self.rewind_iteration < 0:
            raise ValueError(f"--rewind_iteration: expected >= 0, got {self.rewind_iteration}.")
        if self.algorithm == 2 and self.rewind_iteration:
            raise ValueError("--rewind_iteration: Algorithm 2 trains from theta_0; use --algorithm=1.")
        if self.gate_l1 < 0:
            raise ValueError(f"--gate_l1: expected >= 0, got {self.gate_l1}.")
        if len(self.country_iso_code) != 3 or not self.country_iso_code.isalpha():
            raise ValueError(f"--country_iso_code: expected 3 letters (ISO 3166-1 alpha-3), "
                             f"got '{self.country_iso_code}'.")

    def seed_list(self):
        return list(self.seeds) or [self.seed]

    def filter_criterion_name(self, criterion):
        """The filter criterion compared with block ``criterion``."""
        if self.filter_criterion:
            return self.filter_criterion
        return criterion if criterion in FILTER_CRITERION_NAMES else "l1"


class EnergyMeter:
    """Energy and CO2 of a stretch of work by codecarbon's offline tracker.

    No network: the carbon intensity is codecarbon's bundled figure for
    ``country_iso_code``. Records whether CPU power was measured (RAPL and the
    like) or estimated (TDP x load), so a reader knows what the numbers are.
    """

    def __init__(self, country_iso_code, enabled=True):
        self.country = country_iso_code
        self.enabled = enabled
        self._tracker = None
        self._note = None if enabled else "disabled by --noenergy"

    def __enter__(self):
        if not self.enabled:
            return self
        try:
            import logging

            from codecarbon import OfflineEmissionsTracker

            logging.getLogger("codecarbon").setLevel(logging.ERROR)
            self._tracker = OfflineEmissionsTracker(
                country_iso_code=self.country, save_to_file=False, log_level="error",
                measure_power_secs=5, tracking_mode="process", allow_multiple_runs=True)
            self._tracker.start()
        except Exception as error:  # noqa: BLE001  (energy is reported, never fatal)
            self._tracker = None
            self._note = f"codecarbon unavailable: {type(error).__name__}: {error}"
        return self

    def __exit__(self, *exc):
        if self._tracker is None:
            self.result = {"energy_kwh": None, "emissions_kg_co2": None,
                           "country_iso_code": self.country, "power_measured": None,
                           "energy_note": self._note}
            return
        try:
            emissions = self._tracker.stop()
            data = self._tracker.final_emissions_data
            modes = [getattr(h, "_mode", None) for h in getattr(self._tracker, "_hardware", [])]
            mode = next((m for m in modes if m), "unknown")
            self.result = {
                "energy_kwh": float(data.energy_consumed),
                "emissions_kg_co2": float(emissions),
                "cpu_energy_kwh": float(data.cpu_energy),
                "ram_energy_kwh": float(data.ram_energy),
                "country_iso_code": data.country_iso_code,
                "power_measured": mode in MEASURED_POWER_MODES,
                "cpu_power_method": mode,
                "energy_note": None,
            }
        except Exception as error:  # noqa: BLE001
            self.result = {"energy_kwh": None, "emissions_kg_co2": None,
                           "country_iso_code": self.country, "power_measured": None,
                           "energy_note": f"codecarbon failed: {type(error).__name__}: {error}"}


class TrainingClock(keras.callbacks.Callback):
    """Time spent in training steps (evaluations excluded), and the same
    without the first evaluation period, which includes tracing and XLA
    compilation: the steady-state cost a compacted ticket should cut."""

    def __init__(self):
        super().__init__()
        self.periods = []  # (seconds, iterations) of each evaluation period

    def on_epoch_begin(self, epoch, logs=None):
        self._began = time.perf_counter()
        self._first = int(self.model.optimizer.iterations.numpy())
        self._last = self._began

    def on_train_batch_end(self, batch, logs=None):
        self._last = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        steps = int(self.model.optimizer.iterations.numpy()) - self._first
        self.periods.append((self._last - self._began, steps))

    def summary(self):
        steady = self.periods[1:]
        seconds = sum(s for s, _ in steady)
        steps = sum(n for _, n in steady)
        return {"train_steps_time_s": sum(s for s, _ in self.periods),
                "steady_step_time_s": seconds / steps if steps else None}


def _cpu_seconds():
    t = os.times()
    return t.user + t.system


@procedure("layer_lottery")
class LayerLottery:
    """The layer-lottery driver: per seed a dense stage, a scoring stage and
    one layer ticket (and one filter ticket) per p, each resumable."""

    def __init__(self, config, workdir, strategy=None, log=print):
        self.config = config
        self.workdir = workdir
        self.strategy = strategy or tf.distribute.get_strategy()
        self.log = log
        self.process = uuid.uuid4().hex[:12]  # tells which records share a process
        self.data = load_data(config.dataset, data_dir=config.data_dir or None, seed=config.seed,
                              label_noise=config.label_noise, augment=config.augment)
        if len(self.data.input_shape) != 3:
            raise ValueError(f"--dataset: ResNets need (H, W, C) images, got {self.data.input_shape}.")
        self.iterations = resolve_iterations(config, self.data)
        if config.rewind_iteration >= self.iterations:
            raise ValueError(f"--rewind_iteration: {config.rewind_iteration} is past the end of "
                             f"training ({self.iterations} iterations).")
        self.learned_gates = "gate" in config.criterion
        probe = self._build(config.seed_list()[0])
        allowed = removable_blocks(probe)
        too_many = [p for p in config.remove if p > len(allowed)]
        if too_many:
            raise ValueError(f"--remove: {config.model} has {len(allowed)} removable blocks, "
                             f"cannot remove {too_many}.")
        self.train_config = dataclasses.replace(config, iterations=self.iterations)
        self.tensorboard = workdir.stage("tensorboard")

    def _build(self, seed):
        with self.strategy.scope():
            return gated_resnet(self.config.model, self.data.input_shape, self.data.num_classes,
                                seed=seed, trainable=self.learned_gates,
                                l1=self.config.gate_l1 if self.learned_gates else 0.0)

    # Stages -----------------------------------------------------------------

    def run(self):
        for seed in self.config.seed_list():
            self._dense(seed)
            for criterion in self.config.criterion:
                self._scores(seed, criterion)
                for p in self.config.remove:
                    self._blocks_ticket(seed, criterion, p)
                    if self.config.filter_tickets:
                        self._filters_ticket(seed, criterion, p)
                    self.save_results()
        self.save_results()
        return self.records()

    def _train(self, model, name, seed, start, callbacks=()):
        """Trains ``model`` with the shared Trainer; time, CPU time and energy."""
        keras.utils.set_random_seed(int(seed) * 1_000_003 + 17)
        trainer = Trainer(model, self.data, self.train_config, self.strategy)
        clock = TrainingClock()
        cpu = _cpu_seconds()
        with EnergyMeter(self.config.country_iso_code, self.config.energy) as meter:
            record = trainer.fit(start=start, data_seed=seed, log_dir=f"{self.tensorboard}/{name}",
                                 callbacks=[clock, *callbacks])
        return {**record, "cpu_time_s": _cpu_seconds() - cpu, **clock.summary(), **meter.result}

    def _scoring_batch(self, seed):
        return self.data.balanced_batch(self.config.score_examples_per_class, seed)

    def _dense(self, seed):
        stage = (f"seed_{seed}", "dense")
        if self.workdir.finished(*stage):
            return
        model = self._build(seed)
        self.workdir.save_weights(model, "initial", *stage)
        rewind = RewindPoint(self.config.rewind_iteration)
        callbacks = [rewind, GateSummaries(f"{self.tensorboard}/seed_{seed}_dense")]
        record = self._train(model, f"seed_{seed}_dense", seed, 0, callbacks)
        final = [w.numpy() for w in model.weights]
        for var, value in zip(model.weights, rewind.weights):
            var.assign(value)
        self.workdir.save_weights(model, "rewind", *stage)
        for var, value in zip(model.weights, final):
            var.assign(value)
        self.workdir.save_weights(model, "final", *stage)
        self._finish(record, model, seed, None, 0, "dense", [], stage)

    def _scores(self, seed, criterion_name):
        stage = (f"seed_{seed}", criterion_name, "scores")
        if self.workdir.finished(*stage):
            return
        model = self._build(seed)
        after_training = self.config.algorithm == 1
        self.workdir.load_weights(model, "final" if after_training else "initial",
                                  f"seed_{seed}", "dense")
        x, y = self._scoring_batch(seed)
        criterion = block_criterion(criterion_name, inputs=x, labels=y,
                                    aggregation=self.config.aggregation, seed=seed)
        began = time.perf_counter()
        scores = criterion.scores(model, residual_blocks(model))
        scoring_time = time.perf_counter() - began
        record = {"seed": seed, "criterion": criterion_name,
                  "scored_at": "trained" if after_training else "theta_0",
                  "scoring_time_s": scoring_time, "block_scores": scores}
        if self.config.filter_tickets:
            # Filters are scored once, on the same weights, for every p.
            gated = add_channel_gates(model)
            name = self.config.filter_criterion_name(criterion_name)
            filters = filter_criterion(name, inputs=x, labels=y,
                                       aggregation=self.config.aggregation, seed=seed)
            groups = removable_groups(gated)
            scores = filters.scores(gated, groups)
            self.workdir.save_arrays([scores[g.name] for g in groups], "filter_scores", *stage)
            record["filter_criterion"] = name
            record["filter_groups"] = [g.name for g in groups]
        self.workdir.finish(record, *stage)

    def _start(self, model, seed):
        """Loads the weights a ticket trains from; returns the start iteration."""
        dense = (f"seed_{seed}", "dense")
        if self.config.algorithm == 2:
            self.workdir.load_weights(model, "initial", *dense)
            return 0
        name = "rewind" if self.config.retrain == "rewind" else "final"
        self.workdir.load_weights(model, name, *dense)
        return self.config.rewind_iteration

    def _blocks_ticket(self, seed, criterion, p):
        stage = (f"seed_{seed}", criterion, f"blocks_p{p}")
        if self.workdir.finished(*stage):
            return
        model = self._build(seed)
        scores = self.workdir.record(f"seed_{seed}", criterion, "scores")["block_scores"]
        removed = choose_blocks(model, scores, p)
        start = self._start(model, seed)
        remove_blocks(model, removed)
        report = effective_report(model)
        with self.strategy.scope():
            ticket = compact(model)
        record = self._train(ticket, f"seed_{seed}_{criterion}_blocks_p{p}", seed, start)
        self._finish(record, ticket, seed, criterion, p, "layers", removed, stage, report)

    def _filters_ticket(self, seed, block_criterion_name, p):
        stage = (f"seed_{seed}", block_criterion_name, f"filters_p{p}")
        if self.workdir.finished(*stage):
            return
        target = self.workdir.record(f"seed_{seed}", block_criterion_name, f"blocks_p{p}")["multiply_adds"]
        scored = (f"seed_{seed}", block_criterion_name, "scores")
        info = self.workdir.record(*scored)
        scores = dict(zip(info["filter_groups"], self.workdir.load_arrays("filter_scores", *scored)))
        model = self._build(seed)
        start = self._start(model, seed)
        with self.strategy.scope():
            gated = add_channel_gates(model)
        fraction, masks = prune_filters_to_multiply_adds(gated, target, scores=scores)
        report = effective_report(gated)
        with self.strategy.scope():
            ticket = compact(gated)
        record = self._train(ticket, f"seed_{seed}_{block_criterion_name}_filters_p{p}", seed, start)
        record["filter_fraction"] = fraction
        record["filter_criterion"] = info["filter_criterion"]
        self._finish(record, ticket, seed, block_criterion_name, p, "filters", [], stage, report)

    def _finish(self, record, model, seed, criterion, p, ticket, removed, stage, gated_report=None):
        size = metrics.report(model)
        dense = None if ticket == "dense" else self.workdir.record(f"seed_{seed}", "dense")
        record = {
            "seed": seed,
            "ticket": ticket,
            "p": p,
            "criterion": criterion,
            "removed_blocks": ",".join(removed),
            **record,
            "params": size["total_params"],
            "multiply_adds": size["dense_multiply_adds"],
            "process": self.process,
        }
        if gated_report is not None:
            record["gated_multiply_adds"] = gated_report["structured_multiply_adds"]
        if dense is not None:
            record["dense_test_accuracy"] = dense["test_accuracy"]
            record["params_reduction"] = 1 - record["params"] / dense["params"]
            record["flops_reduction"] = 1 - record["multiply_adds"] / dense["multiply_adds"]
            record["speedup"] = dense["wall_time_s"] / record["wall_time_s"]
            record["cpu_speedup"] = dense["cpu_time_s"] / record["cpu_time_s"]
            steady = dense.get("steady_step_time_s"), record.get("steady_step_time_s")
            record["steady_speedup"] = steady[0] / steady[1] if all(steady) else None
            record["same_process_as_dense"] = dense["process"] == self.process
            if record.get("energy_kwh") is not None and dense.get("energy_kwh"):
                record["energy_reduction"] = 1 - record["energy_kwh"] / dense["energy_kwh"]
            record["accuracy_gap_pp"] = 100 * (record["test_accuracy"] - dense["test_accuracy"])
            record["win"] = bool(record["accuracy_gap_pp"] + self.config.xi >= 0)
        self.workdir.finish(record, *stage)
        verdict = "" if dense is None else ("  WIN" if record["win"] else "  lose")
        self.log(f"seed {seed} {criterion or '':>6} {ticket:>7} p={p}: test accuracy {record['test_accuracy']:.4f}  "
                 f"params {record['params']}  multiply-adds {record['multiply_adds']}  "
                 f"wall {record['wall_time_s']:.1f}s{verdict}")

    # Results ----------------------------------------------------------------

    def full_config(self):
        return {**self.config.to_dict(), "resolved_iterations": self.iterations,
                "filter_criteria_used": {c: self.config.filter_criterion_name(c)
                                         for c in self.config.criterion},
                "replicas": self.strategy.num_replicas_in_sync}

    def records(self):
        """Every finished cell: per seed the dense net, then per p its tickets."""
        out = []
        for seed in self.config.seed_list():
            stages = [("dense",)] + [(c, f"{kind}_p{p}") for c in self.config.criterion
                                     for p in self.config.remove for kind in ("blocks", "filters")]
            out += [self.workdir.record(f"seed_{seed}", *s) for s in stages
                    if self.workdir.finished(f"seed_{seed}", *s)]
        return out

    def save_results(self):
        records = self.records()
        write_results(self.workdir.path, self.full_config(), records, "cells")
        summary = summarize(records)
        write_results(self.workdir.stage("summary"), self.full_config(), summary, "summary")
        if summary:
            plot_layer_lottery(summary, self.workdir.path,
                               f"{self.config.model} on {self.config.dataset}, "
                               f"Algorithm {self.config.algorithm}")


SUMMARIZED = ("test_accuracy", "accuracy_gap_pp", "params", "multiply_adds", "flops_reduction",
              "wall_time_s", "cpu_time_s", "speedup", "steady_speedup", "cpu_speedup", "energy_kwh",
              "emissions_kg_co2", "energy_reduction")


def summarize(records):
    """Mean and standard deviation over seeds of each (criterion, ticket, p), and wins."""
    keys = ("criterion", "ticket", "p")
    rows = summarize_over_seeds(records, keys, SUMMARIZED)
    for row in rows:
        if row["ticket"] != "dense":
            cell = tuple(row[k] for k in keys)
            row["wins"] = sum(bool(r.get("win")) for r in records
                              if tuple(r[k] for k in keys) == cell)
    return sorted(rows, key=lambda r: (r["p"], r["criterion"] or "", r["ticket"]))


def plot_layer_lottery(summary, directory, title):
    """``accuracy_vs_p.png`` and ``speedup_vs_p.png``: mean +- std over seeds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dense = [r for r in summary if r["ticket"] == "dense"]
    lines = sorted({(r["criterion"], r["ticket"]) for r in summary if r["ticket"] != "dense"})
    panels = (("accuracy_vs_p.png", "test_accuracy", "test accuracy (%)", 100.0),
              ("speedup_vs_p.png", "speedup", "measured training speed-up (x)", 1.0))
    for filename, key, label, scale in panels:
        fig, ax = plt.subplots(figsize=(6, 4))
        for criterion, ticket in lines:
            rows = sorted((r for r in summary if (r["criterion"], r["ticket"]) == (criterion, ticket)
                           and r.get(f"{key}_mean") is not None), key=lambda r: r["p"])
            ax.errorbar([r["p"] for r in rows], [scale * r[f"{key}_mean"] for r in rows],
                        yerr=[scale * (r[f"{key}_std"] or 0.0) for r in rows],
                        marker="o" if ticket == "layers" else "s", capsize=3,
                        linestyle="-" if ticket == "layers" else "--",
                        label=f"{criterion}: {ticket} ticket")
        if key == "test_accuracy" and dense and dense[0]["test_accuracy_mean"] is not None:
            mean = 100 * dense[0]["test_accuracy_mean"]
            std = 100 * (dense[0]["test_accuracy_std"] or 0.0)
            ax.axhline(mean, color="k", linestyle="--", label="dense")
            ax.axhspan(mean - std, mean + std, color="k", alpha=0.1)
        if key == "speedup":
            rows = {r["p"]: r for r in summary
                    if r["ticket"] == "layers" and r["flops_reduction_mean"] is not None}
            ps = sorted(rows)
            ax.plot(ps, [1 / (1 - rows[p]["flops_reduction_mean"]) for p in ps], "k:",
                    label="dense / ticket multiply-adds")
            ax.axhline(1.0, color="k", linewidth=0.5)
        ax.set_xticks(sorted({r["p"] for r in summary if r["ticket"] != "dense"}))
        ax.set_xlabel("p (blocks removed)")
        ax.set_ylabel(label)
        ax.set_title(title, fontsize=9)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(os.path.join(directory, filename), dpi=120)
        plt.close(fig)
