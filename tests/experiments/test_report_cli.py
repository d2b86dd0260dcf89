"""experiments/report.py gathers an IMP run and a pruning-at-init run into one table."""
import os

from tiny_imp import command, tiny_imp  # noqa: F401  (the session fixture)

from lth_keras.runs.results import write_results


def test_report_of_an_imp_run_and_a_prune_at_init_run(tiny_imp, tmp_path):  # noqa: F811
    cells = tmp_path / "pai"
    cells.mkdir()
    write_results(str(cells), {"model": "lenet300_100", "dataset": "synthetic"}, [
        {"method": "synflow", "sparsity": 0.5, "seed": s, "sanity": None, "density": 0.5,
         "test_accuracy": a} for s, a in ((0, 0.5), (1, 0.7))], "cells",
        procedure="prune_at_init")
    out = tmp_path / "report"
    printed = command("report.py", f"--workdirs={tiny_imp},{cells}", f"--output={out}",
                      "--evaluation=no_such_evaluation").stdout
    text = (out / "report.md").read_text()
    assert printed.startswith(text[:40])
    assert "## lenet300_100 on synthetic" in text
    lines = [line for line in text.splitlines() if line.startswith("| ")]
    assert lines[1].startswith("| imp | dense |  | 1 | 100.00 |")  # the dense row heads the table
    assert any(line.startswith("| imp | ticket | round 1 | 1 | 80.04 |") for line in lines)
    assert any(line.startswith("| prune_at_init | synflow | sparsity 0.5 | 2 | 50.00 ± 0.00 | "
                               "60.00 ± 14.14 |") for line in lines)
    # IMP records carry the speed-up; multiply-adds come from the architecture.
    assert os.path.getsize(out / "accuracy_vs_flops_lenet300_100_synthetic.png") > 0
    assert os.path.getsize(out / "accuracy_vs_density_lenet300_100_synthetic.png") > 0
    assert (out / "report.csv").read_text().count("\n") == 5  # header, 4 rows

    missing = command("report.py", f"--workdirs={tmp_path / 'none'}", check=False)
    assert missing.returncode == 2 and "no results.json" in missing.stderr
