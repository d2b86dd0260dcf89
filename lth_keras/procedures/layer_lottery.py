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
their measured training time, energy and CO2 are real; the headline
``speedup`` is the ratio of median steady step times (see
:mod:`lth_keras.training.meters`). A ticket wins when Acc(F') + xi >= Acc(F)
(xi in percentage points).
A dense network that diverges (:mod:`lth_keras.procedures.divergence`) leaves
Algorithm 1 nothing to score or retrain: that seed's scores and tickets are ``skipped``.
"""

import collections
import dataclasses
import time
import uuid

import keras

from lth_keras.callbacks.rewind import RewindPoint
from lth_keras.models import residual_blocks
from lth_keras.procedures.base import PROCEDURES, Procedure
from lth_keras.procedures.divergence import (accuracy_text, blocked_by,
                                             measured, skipped)
from lth_keras.reporting.layer_lottery import plot_layer_lottery, summarize
from lth_keras.runs import layout
from lth_keras.runs.config import RunConfig, field
from lth_keras.runs.results import write_results
from lth_keras.runs.seeds import stage_seed
from lth_keras.runs.validate import at_least, choice, distinct, interval, seed_list, useless
from lth_keras.structured import (
    AGGREGATIONS, BLOCK_CRITERION_NAMES, FILTER_CRITERION_NAMES, GateSummaries, add_channel_gates,
    block_criterion, choose_blocks, compact, effective_report, filter_criterion, gated_resnet,
    prune_filters_to_multiply_adds, removable_blocks, removable_groups, remove_blocks,
    report as size_report)
from lth_keras.training import meters

ALGORITHMS = (1, 2)
RETRAIN_MODES = ("rewind", "lr_rewind")
RESNETS = ("resnet20", "resnet32", "resnet56", "resnet110", "resnet18")
TICKETS = ("blocks", "filters")
SCORES = layout.LAYER_LOTTERY_SCORES
# A stage's part -> the record's ``ticket``.
TICKET_NAMES = {"dense": "dense", "blocks": "layers", "filters": "filters"}
# The salt of every training's stage seed (the seeds this driver has always used).
TRAINING_SALT = 17

# What a stage is: its seed, criterion (None: dense), part and p (0: dense).
Cell = collections.namedtuple("Cell", "seed criterion part p")


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
        choice("model", self.model, RESNETS)
        distinct("criterion", self.criterion)
        for name in self.criterion:
            choice("criterion", name, BLOCK_CRITERION_NAMES)
        choice("algorithm", self.algorithm, ALGORITHMS)
        choice("aggregation", self.aggregation, AGGREGATIONS)
        choice("retrain", self.retrain, RETRAIN_MODES)
        if self.filter_criterion:
            choice("filter_criterion", self.filter_criterion, FILTER_CRITERION_NAMES)
        distinct("remove", self.remove)
        for p in self.remove:
            at_least("remove", p, 1)
        seed_list("seeds", self.seeds)
        # xi is in percentage points of accuracy: beyond 100 every ticket wins (or loses).
        interval("xi", self.xi, -100.0, 100.0)
        if "gate" in self.criterion and self.algorithm != 1:
            raise ValueError("--criterion: 'gate' ranks learned gates, so it needs --algorithm=1.")
        at_least("score_examples_per_class", self.score_examples_per_class, 1)
        at_least("rewind_iteration", self.rewind_iteration, 0)
        if self.algorithm == 2 and self.rewind_iteration:
            raise ValueError("--rewind_iteration: Algorithm 2 trains from theta_0; use --algorithm=1.")
        at_least("gate_l1", self.gate_l1, 0)
        if self.filter_criterion and not self.filter_tickets:
            useless("filter_criterion", "--nofilter_tickets trains no filter ticket", "drop one")
        if len(self.country_iso_code) != 3 or not self.country_iso_code.isalpha():
            raise ValueError(f"--country_iso_code: expected 3 letters (ISO 3166-1 alpha-3), "
                             f"got '{self.country_iso_code}'.")

    def check_given(self, given):
        """Refuses options of the parts of the procedure that do not run."""
        super().check_given(given)
        changed = self.changed(given)
        if "retrain" in changed and self.algorithm == 2:
            useless("retrain", "Algorithm 2 trains every ticket from theta_0", "use --algorithm=1")
        if "gate_l1" in changed and "gate" not in self.criterion:
            useless("gate_l1", "only --criterion=gate learns gates", "add gate to --criterion")
        if "country_iso_code" in changed and not self.energy:
            useless("country_iso_code", "--noenergy measures no energy", "drop --noenergy")

    def seed_list(self):
        return list(self.seeds) or [self.seed]

    def filter_criterion_name(self, criterion):
        """The filter criterion compared with block ``criterion``."""
        if self.filter_criterion:
            return self.filter_criterion
        return criterion if criterion in FILTER_CRITERION_NAMES else "l1"


@PROCEDURES.register("layer_lottery")
class LayerLottery(Procedure):
    """The layer-lottery driver: per seed a dense stage, then per criterion a
    scoring stage and one layer ticket (and one filter ticket) per p. Every
    stage builds its own model, so the procedure has no ``self.model``."""

    config_class = LayerLotteryConfig
    results_key = "cells"
    table = {
        "seed": "d", "criterion": "", "ticket": "", "p": "d", "status": "", "test_accuracy": ".4f",
        "dense_test_accuracy": ".4f", "win": "", "params": "d", "flops_reduction": ".3f",
        "wall_time_s": ".1f", "speedup": ".2f", "cpu_speedup": ".2f", "energy_kwh": ".2e",
        "removed_blocks": "",
    }

    def setup(self):
        config = self.config
        self.process = uuid.uuid4().hex[:12]  # tells which records share a process
        self.data = self.load_data()
        if len(self.data.input_shape) != 3:
            raise ValueError(f"--dataset: ResNets need (H, W, C) images, got {self.data.input_shape}.")
        self.training_length(self.data)
        self.refuse_past_end("rewind_iteration", config.rewind_iteration)
        self.learned_gates = "gate" in config.criterion
        allowed = removable_blocks(self._build(config.seed_list()[0]))
        too_many = [p for p in config.remove if p > len(allowed)]
        if too_many:
            raise ValueError(f"--remove: {config.model} has {len(allowed)} removable blocks, "
                             f"cannot remove {too_many}.")
        if config.energy and not meters.codecarbon_available():
            self.log(meters.NO_CODECARBON)

    def _build(self, seed):
        with self.strategy.scope():
            return gated_resnet(self.config.model, self.data.input_shape, self.data.num_classes,
                                seed=seed, trainable=self.learned_gates,
                                l1=self.config.gate_l1 if self.learned_gates else 0.0)

    # Stages -----------------------------------------------------------------

    def cells(self):
        """Every stage of the run, in run order, with what it is."""
        out = {}
        for seed in self.config.seed_list():
            out[layout.layer_lottery_stage(seed)] = Cell(seed, None, "dense", 0)
            for criterion in self.config.criterion:
                out[self._scored(seed, criterion)] = Cell(seed, criterion, SCORES, 0)
                for p in self.config.remove:
                    for kind in TICKETS if self.config.filter_tickets else TICKETS[:1]:
                        out[self._ticket(seed, criterion, kind, p)] = Cell(seed, criterion, kind, p)
        return out

    def _scored(self, seed, criterion):
        return layout.layer_lottery_stage(seed, criterion, SCORES)

    def _ticket(self, seed, criterion, kind, p):
        return layout.layer_lottery_stage(seed, criterion, layout.layer_lottery_ticket(kind, p))

    def stages(self):
        return list(self.cells())

    def is_result(self, stage):
        return stage[-1] != SCORES

    def run_stage(self, stage):
        cell = self.cells()[stage]
        reason = cell.part != "dense" and self.config.algorithm == 1 and blocked_by(
            self.workdir.record(*layout.layer_lottery_stage(cell.seed)),
            f"seed {cell.seed}'s dense network", "finite trained weights to score")
        if reason:
            return skipped(reason, seed=cell.seed, criterion=cell.criterion,
                           ticket=TICKET_NAMES.get(cell.part), p=cell.p)
        run = {"dense": self._dense, SCORES: self._scores, "blocks": self._blocks_ticket,
               "filters": self._filters_ticket}[cell.part]
        return run(cell, stage)

    def _train(self, model, stage, seed, start, callbacks=()):
        """Trains ``model`` with the shared Trainer; time, CPU time and energy."""
        keras.utils.set_random_seed(stage_seed(seed, 0, TRAINING_SALT))
        trainer = self.trainer_for(model)
        clock = meters.TrainingClock()
        cpu = meters.cpu_seconds()
        with meters.EnergyMeter(self.config.country_iso_code, self.config.energy) as meter:
            record = trainer.fit(start=start, data_seed=seed, log_dir=self.tensorboard(*stage),
                                 callbacks=[clock, *callbacks])
        return {**record, "cpu_time_s": meters.cpu_seconds() - cpu, **clock.summary(),
                **meter.result}

    def _dense(self, cell, stage):
        seed = cell.seed
        model = self._build(seed)
        self.workdir.save_weights(model, "initial", *stage)
        rewind = RewindPoint(self.config.rewind_iteration)
        record = self._train(model, stage, seed, 0,
                             [rewind, GateSummaries(self.tensorboard(*stage))])
        if rewind.weights is not None:  # a training that diverged before i has no theta_i
            with rewind.rewound(model):
                self.workdir.save_weights(model, "rewind", *stage)
        self.workdir.save_weights(model, "final", *stage)
        return self._cell_record(record, model, cell)

    def _scores(self, cell, stage):
        seed, criterion_name = cell.seed, cell.criterion
        model = self._build(seed)
        after_training = self.config.algorithm == 1
        self.workdir.load_weights(model, "final" if after_training else "initial",
                                  *layout.layer_lottery_stage(seed))
        x, y = self.data.balanced_batch(self.config.score_examples_per_class, seed)
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
        return record

    def _start(self, model, seed):
        """Loads the weights a ticket trains from; returns the start iteration."""
        dense = layout.layer_lottery_stage(seed)
        if self.config.algorithm == 2:
            self.workdir.load_weights(model, "initial", *dense)
            return 0
        name = "rewind" if self.config.retrain == "rewind" else "final"
        self.workdir.load_weights(model, name, *dense)
        return self.config.rewind_iteration

    def _blocks_ticket(self, cell, stage):
        seed, criterion, p = cell.seed, cell.criterion, cell.p
        model = self._build(seed)
        scores = self.workdir.record(*self._scored(seed, criterion))["block_scores"]
        removed = choose_blocks(model, scores, p)
        start = self._start(model, seed)
        remove_blocks(model, removed)
        report = effective_report(model)
        with self.strategy.scope():
            ticket = compact(model)
        record = self._train(ticket, stage, seed, start)
        return self._cell_record(record, ticket, cell, removed, report)

    def _filters_ticket(self, cell, stage):
        seed, criterion, p = cell.seed, cell.criterion, cell.p
        target = self.workdir.record(*self._ticket(seed, criterion, "blocks", p))["multiply_adds"]
        scored = self._scored(seed, criterion)
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
        record = self._train(ticket, stage, seed, start)
        record["filter_fraction"] = fraction
        record["filter_criterion"] = info["filter_criterion"]
        return self._cell_record(record, ticket, cell, (), report)

    def _cell_record(self, record, model, cell, removed=(), gated_report=None):
        """A trained network's record; a ticket's is compared with its seed's dense one."""
        size = size_report(model)  # a gated model counted as its gates leave it
        ticket = TICKET_NAMES[cell.part]
        record = {
            "seed": cell.seed,
            "ticket": ticket,
            "p": cell.p,
            "criterion": cell.criterion,
            "removed_blocks": ",".join(removed),
            **record,
            "params": size["total_params"],
            "multiply_adds": size["dense_multiply_adds"],
            "process": self.process,
        }
        if gated_report is not None:
            record["gated_multiply_adds"] = gated_report["structured_multiply_adds"]
        if ticket == "dense":
            return record
        dense = self.workdir.record(*layout.layer_lottery_stage(cell.seed))
        record["dense_test_accuracy"] = dense.get("test_accuracy")
        record["params_reduction"] = 1 - record["params"] / dense["params"]
        record["flops_reduction"] = 1 - record["multiply_adds"] / dense["multiply_adds"]
        # The headline: steady steps, which a stall outside them cannot decide.
        record["speedup"] = meters.ratio(dense.get("steady_step_time_s"),
                                         record.get("steady_step_time_s"))
        record["cpu_speedup"] = meters.ratio(dense["cpu_time_s"], record["cpu_time_s"])
        record["wall_speedup"] = meters.ratio(dense["wall_time_s"], record["wall_time_s"])
        record["same_process_as_dense"] = dense["process"] == self.process
        if record.get("energy_kwh") is not None and dense.get("energy_kwh"):
            record["energy_reduction"] = 1 - record["energy_kwh"] / dense["energy_kwh"]
        both = measured(record, "test_accuracy") and measured(dense, "test_accuracy")
        gap = 100 * (record["test_accuracy"] - dense["test_accuracy"]) if both else None
        record["accuracy_gap_pp"] = gap  # None: a diverged network has no accuracy to compare
        record["win"] = bool(gap + self.config.xi >= 0) if both else None
        return record

    # Results ----------------------------------------------------------------

    def finished_stage(self, stage, record):
        if not self.is_result(stage):
            return
        head = (f"seed {record['seed']} {record['criterion'] or '':>6} {record['ticket']:>7} "
                f"p={record['p']}: {accuracy_text(record)}")
        if record.get("params") is None:  # skipped: nothing was built or trained
            return self.log(head)
        verdict = {None: "", True: "  WIN", False: "  lose"}[record.get("win")]  # dense: none
        speedup = record.get("speedup")
        speed = "" if speedup is None else f"  speed-up {speedup:.2f}x"
        self.log(f"{head}  params {record['params']}  multiply-adds {record['multiply_adds']}  "
                 f"wall {record['wall_time_s']:.1f}s{speed}{verdict}")

    def resolved(self):
        return {**super().resolved(),
                "filter_criteria_used": {c: self.config.filter_criterion_name(c)
                                         for c in self.config.criterion}}

    def write_figures(self, records):
        """The summary over seeds (its own results.json) and its two figures."""
        summary = summarize(records)
        write_results(self.workdir.stage(*layout.LAYER_LOTTERY_SUMMARY), self.full_config(),
                      summary, "summary")
        if summary:
            plot_layer_lottery(summary, self.figure,
                               f"{self.config.model} on {self.config.dataset}, "
                               f"Algorithm {self.config.algorithm}")

    @staticmethod
    def report_row(record):
        """(series, setting, order) of ``record`` in the report; series "dense" heads it."""
        if record["ticket"] == "dense":
            return "dense", "", None
        return (f"{record['ticket']} ({record.get('criterion')})", f"p = {record.get('p')}",
                record.get("p") or 0)
