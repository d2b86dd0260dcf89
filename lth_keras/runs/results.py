"""The one results writer: results.json, results.csv, a printed table, and the
mean +- std over seeds that experiments tabulate.

``results.json`` is ``{"config": {...}, <key>: [record, ...]}``; every
experiment writes its records through :func:`write_results`, so the report
tools read every run the same way.
"""

import csv
import io
import json
import os

import numpy as np

from lth_keras.runs import layout
from lth_keras.runs.workdir import write_json, write_text


def _flat(record):
    # Nested dicts (per-layer densities) stay in results.json only.
    return {k: v for k, v in record.items() if not isinstance(v, (dict, list))}


def write_results(path, config, records, key, procedure=None):
    """Writes ``results.json`` and ``results.csv`` into the directory ``path``;
    ``procedure`` names the procedure that wrote them (read by the report)."""
    named = {"procedure": procedure} if procedure else {}
    write_json(os.path.join(path, layout.RESULTS), {**named, "config": config, key: records})
    columns = []
    for r in records:
        columns += [k for k in _flat(r) if k not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    for r in records:
        writer.writerow(_flat(r))
    write_text(os.path.join(path, layout.RESULTS_CSV), buffer.getvalue())


def summarize(records, keys, values):
    """Mean, sample std (ddof 1) and count over seeds, per group of records.

    Records sharing the values of ``keys`` form one row, in first-appearance
    order: the keys, ``seeds`` (how many records) and, for each name in
    ``values``, ``<name>_mean`` and ``<name>_std`` over the records that have it
    (None where none has it; the std is None from a single value).
    """
    groups = {}
    for r in records:
        groups.setdefault(tuple(r[k] for k in keys), []).append(r)
    rows = []
    for key, rs in groups.items():
        row = dict(zip(keys, key))
        row["seeds"] = len(rs)
        for v in values:
            xs = np.array([r[v] for r in rs if r.get(v) is not None], dtype=float)
            row[f"{v}_mean"] = float(xs.mean()) if xs.size else None
            row[f"{v}_std"] = float(xs.std(ddof=1)) if xs.size > 1 else None
        rows.append(row)
    return rows


def read_results(path):
    """The parsed ``results.json`` of a run directory (or the file itself)."""
    if os.path.isdir(path):
        path = os.path.join(path, layout.RESULTS)
    with open(path) as f:
        return json.load(f)


def format_table(records, columns):
    """A fixed-width text table of ``columns`` (name -> format spec) of records."""
    header = "  ".join(f"{name:>{max(len(name), 8)}}" for name in columns)
    lines = [header, "-" * len(header)]
    for r in records:
        cells = []
        for name, spec in columns.items():
            value = r.get(name)
            width = max(len(name), 8)
            text = "-" if value is None else format(value, spec) if spec else str(value)
            cells.append(f"{text:>{width}}")
        lines.append("  ".join(cells))
    return "\n".join(lines)
