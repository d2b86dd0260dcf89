"""The cross-run report: many run directories, one table per model and dataset.

Each run directory's ``results.json`` (written by the shared
:func:`lth_keras.runs.write_results`) names the procedure that wrote it, and
that procedure's ``report_row(record)`` says which row each record is in; a
run of an unknown procedure gets a generic row (method, then round /
sparsity / target density). An evaluation of the run
(``<run>/evaluation/results.json`` from ``experiments/evaluate.py``) is joined
to its records: an evaluation record belongs to the run record whose scalar
fields equal its ``source``.

Rows are a (experiment, series, setting) - e.g. (imp, ticket, round 3) or
(pruning_at_init, snip, sparsity 0.9) - with every metric as mean +- sample
standard deviation over the runs (seeds) that have it; ``n`` counts them.
The dense baseline heads each table, as ShrinkBench asks (Blalock et al.
2020), with compression ratio and theoretical speed-up; multiply-adds that a
run did not record are the architecture's dense count / theoretical speed-up.
"""

import csv
import glob
import io
import math
import os

import numpy as np

from lth_keras.procedures import PROCEDURES
from lth_keras.reporting import plots
from lth_keras.runs import layout
from lth_keras.runs.results import read_results
from lth_keras.runs.files import UnsafeLinkError, staged
from lth_keras.runs.workdir import write_text

# The setting and sort key of the dense baseline row, which heads each table.
DENSE = ("dense", "", -math.inf)


def _row(run, record):
    """(experiment, series, setting, sort key) of ``record`` of ``run``."""
    if run.procedure is None or not hasattr(run.procedure, "report_row"):
        return _generic_row(record, run.name)
    series, setting, order = run.procedure.report_row(record)
    if series == DENSE[0]:
        return (run.name, *DENSE)
    return run.name, series, setting, order


def _generic_row(record, key):
    """Rows of experiments with no registered kind: method/control, then round or sparsity."""
    if record.get("density", 0) >= 1.0 - 1e-9 and not record.get("control"):
        return (key, *DENSE)
    series = str(record.get("method") or record.get("control") or key)
    for name in ("round", "sparsity", "target_density", "density"):
        if record.get(name) is not None:
            return key, series, f"{name} {record[name]}", record[name]
    return key, series, "", 0


# (record field, column header, format): the report's columns, in order.
METRICS = (
    ("density", "density %", "pct"),
    ("test_accuracy", "clean %", "pct"),
    ("fgsm_accuracy", "FGSM %", "pct"),
    ("pgd_accuracy", "PGD %", "pct"),
    ("mean_corruption_accuracy", "corruptions %", "pct"),
    ("ece", "ECE %", "pct"),
    ("nll", "NLL", ".4f"),
    ("brier", "Brier", ".4f"),
    ("early_stop_iteration", "early stop it.", ".0f"),
    ("learning_distance", "distance", ".2f"),
    ("compression_ratio", "compression", ".2f"),
    ("theoretical_speedup", "speed-up", ".2f"),
    ("effective_multiply_adds", "multiply-adds", ".3g"),
)
INSTABILITY_METRICS = (
    ("density", "density %", "pct"),
    ("barrier", "barrier %", "pct"),
    ("max_error", "max error %", "pct"),
    ("stable", "stable", ".2f"),
)


def _scalars(record):
    return {k: v for k, v in record.items() if not isinstance(v, (dict, list))}


def _read(path, flag):
    """A results.json, or one line naming ``flag`` and the file."""
    try:
        results = read_results(path)
    except ValueError as error:
        raise ValueError(f"--{flag}: {path} holds no valid {layout.RESULTS} ({error}).") from None
    except OSError as error:
        raise ValueError(f"--{flag}: cannot read {error.filename or path}: "
                         f"{error.strerror or error}.") from None
    if not isinstance(results, dict) or not isinstance(results.get("config"), dict):
        raise ValueError(f"--{flag}: {path} holds no run's {layout.RESULTS} "
                         "(a JSON object with a 'config').")
    return results


class Run:
    """One run directory: its configuration and records, evaluation joined."""

    def __init__(self, path, evaluation="evaluation"):
        results = _read(path, "workdirs")
        keys = [k for k in results if k != "config" and isinstance(results[k], list)]
        if len(keys) != 1:
            raise ValueError(f"workdirs: {path}/results.json should hold one list of records "
                             f"besides 'config', found {keys}.")
        self.path = path
        self.key = keys[0]
        self.procedure = PROCEDURES.get(results["procedure"]) if results.get(
            "procedure") in PROCEDURES else None
        self.name = self.procedure.name if self.procedure else self.key
        self.config = results["config"]
        training = self.config.get("training", self.config)
        self.model = training.get("model", "?")
        self.dataset = training.get("dataset", "?")
        self.records = [dict(r) for r in results[self.key]]
        self.evaluation_config = None
        evaluated = os.path.join(path, evaluation, layout.RESULTS)
        if os.path.exists(evaluated):
            self._join(_read(evaluated, "evaluation"))
        self._fill_multiply_adds()

    def _join(self, evaluation):
        self.evaluation_config = evaluation["config"]
        by_source = [(e["source"], e) for e in evaluation.get("evaluation", [])]
        for record in self.records:
            flat = _scalars(record)
            for source, e in by_source:
                if source == flat:
                    record.update({k: v for k, v in _scalars(e).items()
                                   if k not in record or k == "density"})


    def _fill_multiply_adds(self):
        """Nonzero multiply-adds from the speed-up where no evaluation gave them:
        the dense count of the architecture / theoretical speed-up (ShrinkBench)."""
        for r in self.records:
            if r.get("effective_multiply_adds") is None and r.get("multiply_adds") is not None:
                r["effective_multiply_adds"] = r["multiply_adds"]  # a physically smaller net
        needed = [r for r in self.records
                  if r.get("effective_multiply_adds") is None and r.get("theoretical_speedup")]
        if not needed:
            return
        dense = dense_multiply_adds(self.model, self.dataset, self.config.get("data_dir") or None)
        for r in needed:
            if dense is not None:
                r["effective_multiply_adds"] = dense / r["theoretical_speedup"]


_DENSE_MULTIPLY_ADDS = {}


def dense_multiply_adds(model_name, dataset, data_dir=None):
    """Multiply-adds of the unpruned architecture on one example (None if the
    model or the dataset cannot be built here)."""
    key = (model_name, dataset, data_dir)
    if key not in _DENSE_MULTIPLY_ADDS:
        from lth_keras import metrics
        from lth_keras.data import load as load_data
        from lth_keras.models import build as build_model

        try:
            data = load_data(dataset, data_dir=data_dir)
            model = build_model(model_name, data.input_shape, data.num_classes, seed=0)
            _DENSE_MULTIPLY_ADDS[key] = metrics.multiply_adds(model)[0]
        except (ValueError, ImportError, OSError):
            _DENSE_MULTIPLY_ADDS[key] = None
    return _DENSE_MULTIPLY_ADDS[key]


def find_runs(patterns, evaluation="evaluation"):
    """Run directories matching ``patterns`` (paths or globs) with results.json."""
    paths, seen = [], set()
    for pattern in patterns:
        matched = sorted(glob.glob(pattern)) or [pattern]
        for path in matched:
            if not os.path.isfile(os.path.join(path, layout.RESULTS)):
                raise ValueError(f"--workdirs: {path} has no {layout.RESULTS}.")
            if os.path.realpath(path) not in seen:  # RUN and RUN/ are one run
                seen.add(os.path.realpath(path))
                paths.append(path)
    if not paths:
        raise ValueError("--workdirs: expected at least one run directory.")
    return [Run(p, evaluation) for p in paths]


def _stats(values):
    values = [float(v) for v in values if v is not None and not isinstance(v, str)]
    if not values:
        return None
    std = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    return float(np.mean(values)), std, len(values)


def rows(runs, metrics=METRICS):
    """Aggregated rows: ``{"table", "experiment", "series", "setting", "n",
    <metric>: (mean, std, n) or None}``."""
    groups = {}
    for run in runs:
        if run.name == "instability":
            continue
        for record in run.records:
            experiment, series, setting, order = _row(run, record)
            key = ((run.model, run.dataset), experiment, series, setting)
            groups.setdefault(key, {"order": order, "records": []})["records"].append(record)
    out = []
    for (table, experiment, series, setting), group in groups.items():
        row = {"table": table, "experiment": experiment, "series": series, "setting": setting,
               "order": group["order"], "n": len(group["records"])}
        for name, _, _ in metrics:
            row[name] = _stats([r.get(name) for r in group["records"]])
        row["status"] = _status(group["records"])
        out.append(row)
    # Dense first, then each experiment's tickets before its controls.
    out.sort(key=lambda r: (r["table"], r["series"] != "dense", r["experiment"],
                            r["series"] != "ticket", r["series"], r["order"]))
    return out


def instability_rows(runs):
    groups = {}
    for run in runs:
        if run.name != "instability":
            continue
        for record in run.records:
            key = ((run.model, run.dataset), record["round"], record["rewind_iteration"])
            groups.setdefault(key, []).append(record)
    out = []
    for (table, round_index, k), records in sorted(groups.items()):
        row = {"table": table, "experiment": "instability", "series": f"round {round_index}",
               "setting": f"k = {k}", "n": len(records), "records": records}
        for name, _, _ in INSTABILITY_METRICS:
            row[name] = _stats([r.get(name) for r in records])
        row["status"] = _status(records)
        out.append(row)
    return out


def _cell(stat, spec):
    if stat is None:
        return "-"
    mean, std, n = stat
    scale = 100.0 if spec == "pct" else 1.0
    spec = ".2f" if spec == "pct" else spec
    text = format(mean * scale, spec)
    return text + (f" ± {format(std * scale, spec)}" if n > 1 else "")


def _status(records):
    """"ok", or how many of the row's runs diverged or were skipped (their
    metrics are missing from the means: each cell's own n is then shown)."""
    counts = {}
    for r in records:
        status = r.get("status") or "ok"  # runs from before statuses were recorded
        counts[status] = counts.get(status, 0) + 1
    bad = [f"{n} of {len(records)} {s}" for s, n in sorted(counts.items()) if s != "ok"]
    return ", ".join(bad) or "ok"


def markdown_table(table_rows, metrics):
    shown = [(n, h, s) for n, h, s in metrics if any(r[n] is not None for r in table_rows)]
    statuses = any(r.get("status", "ok") != "ok" for r in table_rows)
    header = (["experiment", "series", "setting", "n"] + (["status"] if statuses else [])
              + [h for _, h, _ in shown])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in table_rows:
        cells = [r["experiment"], r["series"], r["setting"], str(r["n"])]
        cells += [r["status"]] if statuses else []
        cells += [_cell(r[n], s) + (f" (n={r[n][2]})" if statuses and r[n] and r[n][2] != r["n"]
                                    else "") for n, _, s in shown]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _write_csv(path, all_rows, metrics):
    names = [name for name, _, _ in metrics]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["model", "dataset", "experiment", "series", "setting", "n"]
                    + [f"{n}_{s}" for n in names for s in ("mean", "std")])
    for r in all_rows:
        values = []
        for n in names:
            stat = r.get(n)
            values += ["", ""] if stat is None else [stat[0], stat[1]]
        writer.writerow([*r["table"], r["experiment"], r["series"], r["setting"], r["n"], *values])
    write_text(path, buffer.getvalue())


def _describe_evaluation(runs):
    """One line per distinct evaluation setting (attack budgets, corruptions)."""
    seen = []
    for run in runs:
        c = run.evaluation_config
        if not c:
            continue
        text = (f"FGSM epsilon {c['fgsm_epsilon']}; PGD epsilon {c['pgd_epsilon']}, "
                f"{c['pgd_steps']} steps of {c['pgd_step_size']}"
                f"{' from a random start' if c['pgd_random_start'] else ''} "
                f"(on [0, 1] pixels); corruptions ({c['corruption_source']}): "
                f"{', '.join(c['corruptions']) or 'none'} at severities "
                f"{', '.join(map(str, c['severities']))}; ECE with {c['calibration_bins']} bins; "
                f"{c['split']} split" + (f", first {c['examples']} examples" if c['examples'] else ""))
        if text not in seen:
            seen.append(text)
    return seen


def _plot_name(kind, table):
    return f"{kind}_{table[0]}_{table[1]}".replace(":", "_").replace("/", "_") + ".png"


def write_report(runs, output, title="lth_keras report"):
    """Writes ``report.md``, ``report.csv`` and the plots into ``output``; returns the
    markdown. A ValueError naming --output if ``output`` cannot be written."""
    try:
        os.makedirs(output, exist_ok=True)
        # Plotting writes by path: into a private folder, then each plot moved in atomically.
        with staged(output) as folder:
            return _write_report(runs, output, folder, title)
    except UnsafeLinkError as error:
        raise ValueError(f"--output: {error}") from None
    except OSError as error:
        where = f" ({error.filename})" if error.filename else ""
        raise ValueError(f"--output: cannot write {output}: {error.strerror or error}"
                         f"{where}.") from None


def _write_report(runs, output, figures, title):
    table_rows = rows(runs)
    unstable_rows = instability_rows(runs)
    lines = [f"# {title}", "", "Runs: " + ", ".join(f"`{r.path}` ({r.key})" for r in runs), ""]
    lines += [f"Evaluation: {text}." for text in _describe_evaluation(runs)]
    lines += ["", "Metrics are mean ± standard deviation over the n runs (seeds) of a row; "
                  "compression ratio and speed-up follow ShrinkBench (Blalock et al. 2020).", ""]
    for table in sorted({r["table"] for r in table_rows}):
        mine = [r for r in table_rows if r["table"] == table]
        lines += [f"## {table[0]} on {table[1]}", "", markdown_table(mine, METRICS), ""]
        points = [{"series": f"{r['experiment']} {r['series']}", "density": r["density"][0],
                   "test_accuracy": r["test_accuracy"][0],
                   "effective_multiply_adds": (r["effective_multiply_adds"] or (None,))[0]}
                  for r in mine if r["density"] and r["test_accuracy"]]
        for kind, plot in (("accuracy_vs_density", plots.accuracy_vs_density),
                           ("accuracy_vs_flops", plots.accuracy_vs_flops)):
            if kind == "accuracy_vs_flops" and not any(p["effective_multiply_adds"] for p in points):
                continue
            name = _plot_name(kind, table)
            plot(points, os.path.join(figures, name), group_by="series",
                 title=f"{table[0]} on {table[1]}")
            lines += [f"![{kind}]({name})", ""]
    for table in sorted({r["table"] for r in unstable_rows}):
        mine = [r for r in unstable_rows if r["table"] == table]
        lines += [f"## Instability: {table[0]} on {table[1]}", "",
                  "Error barrier on the linear path between two copies trained from W_k "
                  "(Frankle et al. 2020); stable: the fraction of runs below 2%.", "",
                  markdown_table(mine, INSTABILITY_METRICS), ""]
        name = _plot_name("instability", table)
        plots.instability_curves([rec for r in mine for rec in r["records"]],
                                 os.path.join(figures, name), title=f"{table[0]} on {table[1]}")
        lines += [f"![instability]({name})", ""]
    text = "\n".join(lines)
    write_text(os.path.join(output, "report.md"), text)
    known = {name for name, _, _ in METRICS}
    _write_csv(os.path.join(output, "report.csv"), table_rows + unstable_rows,
               METRICS + tuple(m for m in INSTABILITY_METRICS if m[0] not in known))
    return text
