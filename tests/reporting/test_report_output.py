"""The report's --output: written atomically, never through a link, and a
directory it cannot write is one ValueError naming the flag."""

import os

import pytest

from lth_keras.reporting.report import find_runs, write_report
from lth_keras.runs.results import write_results


@pytest.fixture
def runs(tmp_path):
    cells = tmp_path / "pai"
    cells.mkdir()
    write_results(str(cells), {"model": "lenet300_100", "dataset": "synthetic"}, [
        {"method": "snip", "sparsity": 0.5, "seed": s, "sanity": None, "density": 0.5,
         "test_accuracy": a} for s, a in ((0, 0.5), (1, 0.7))], "cells",
        procedure="prune_at_init")
    return find_runs([str(cells), f"{cells}/"])  # one run, however spelled


def test_the_report_is_written_whole_with_no_temporary_left(runs, tmp_path):
    assert len(runs) == 1
    out = tmp_path / "report"
    text = write_report(runs, str(out))
    assert (out / "report.md").read_text() == text and "| 2 | 50.00 ± 0.00 |" in text
    assert sorted(os.listdir(out)) == ["accuracy_vs_density_lenet300_100_synthetic.png",
                                       "report.csv", "report.md"]


@pytest.mark.parametrize("output, message", [
    ("/proc/lth_keras_report", "--output: cannot write /proc/lth_keras_report: "),
    ("file", "--output: cannot write .*file: "),
])
def test_an_output_that_cannot_be_written_names_the_flag(runs, tmp_path, output, message):
    (tmp_path / "file").write_text("mine")
    if not output.startswith("/"):
        output = str(tmp_path / output)
    with pytest.raises(ValueError, match=message):
        write_report(runs, output)
    assert (tmp_path / "file").read_text() == "mine"


def test_a_link_where_the_report_writes_is_refused(runs, tmp_path):
    out = tmp_path / "report"
    out.mkdir()
    (tmp_path / "precious").write_text("keep")
    os.symlink(tmp_path / "precious", out / "report.md")
    with pytest.raises(ValueError, match=f"--output: {out}/report.md is a symbolic link"):
        write_report(runs, str(out))
    assert (tmp_path / "precious").read_text() == "keep"
