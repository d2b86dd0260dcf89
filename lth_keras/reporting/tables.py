"""Summary tables beside a run's results: ``summary.csv`` and ``summary.md``.

The rows are :func:`lth_keras.runs.results.summarize`'s (mean and sample std
over seeds per group); the Markdown table shows each measure as mean ± std
in percent.
"""

import csv
import io
import os

from lth_keras.runs import layout
from lth_keras.runs.workdir import write_text


def mean_std_percent(row, name):
    """``row``'s ``<name>_mean`` ± ``<name>_std`` in percent ("-" without a mean)."""
    mean, std = row[f"{name}_mean"], row[f"{name}_std"]
    if mean is None:
        return "-"
    return f"{100 * mean:.2f}" + ("" if std is None else f" ± {100 * std:.2f}")


def csv_text(rows, fields=()):
    """Every field of ``rows`` as CSV (``fields``: the header when there are none)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else list(fields))
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def markdown_text(rows, columns, measures):
    """A Markdown table: ``columns`` ``(field, header, format spec)`` as they are,
    then ``measures`` ``(name, header)`` as mean ± std in percent."""
    headers = [header for _, header, _ in columns] + [header for _, header in measures]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for r in rows:
        cells = [format(r[name], spec) for name, _, spec in columns]
        cells += [mean_std_percent(r, name) for name, _ in measures]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_summary_tables(rows, directory, columns, measures):
    """Writes ``summary.csv`` (every field) and ``summary.md`` (``columns`` and
    ``measures``, as :func:`markdown_text`) into ``directory``, atomically."""
    write_text(os.path.join(directory, layout.SUMMARY_CSV),
               csv_text(rows, [name for name, _, _ in columns]))
    write_text(os.path.join(directory, layout.SUMMARY_MD), markdown_text(rows, columns, measures))
