"""The cross-run report: rows, mean ± std over seeds, the dense row, joined evaluations."""
import csv
import os

import pytest

from lth_keras.reporting.report import find_runs, rows, write_report
from lth_keras.runs.results import write_results
from lth_keras.runs.workdir import write_json

CONFIG = {"model": "lenet300_100", "dataset": "synthetic", "data_dir": ""}


def imp_records(dense, ticket, reinit):
    common = {"early_stop_iteration": 64, "compression_ratio": 1.0, "theoretical_speedup": 1.0,
              "effective_multiply_adds": 1000.0}
    return [
        {"round": 0, "control": None, "density": 1.0, "test_accuracy": dense, **common},
        {"round": 1, "control": None, "density": 0.8, "test_accuracy": ticket,
         **common, "compression_ratio": 1.25, "effective_multiply_adds": 800.0,
         "layer_densities": {"fc1/kernel": 0.8}},
        {"round": 1, "control": "reinit", "density": 0.8, "test_accuracy": reinit,
         **common, "effective_multiply_adds": 800.0},
    ]


@pytest.fixture
def runs(tmp_path):
    paths = {}
    for seed, accs in ((0, (0.90, 0.92, 0.85)), (1, (0.80, 0.90, 0.75))):
        path = paths[f"imp{seed}"] = str(tmp_path / f"imp_{seed}")
        os.makedirs(path)
        write_results(path, {**CONFIG, "seed": seed}, imp_records(*accs), "rounds", procedure="imp")
    # An evaluation of seed 0's round-1 ticket, joined through its source.
    ticket = {k: v for k, v in imp_records(0.90, 0.92, 0.85)[1].items() if k != "layer_densities"}
    evaluation = str(tmp_path / "imp_0" / "evaluation")
    os.makedirs(evaluation)
    write_results(evaluation, {"fgsm_epsilon": 0.1, "pgd_epsilon": 0.1, "pgd_steps": 20,
                               "pgd_step_size": 0.01, "pgd_random_start": True,
                               "corruption_source": "offline", "corruptions": ["contrast"],
                               "severities": [1], "calibration_bins": 15, "split": "test",
                               "examples": 0},
                  [{"stage": "round_01", "round": 1, "control": None, "fgsm_accuracy": 0.4,
                    "ece": 0.05, "source": ticket}], "evaluation")
    cells = paths["cells"] = str(tmp_path / "pai")
    os.makedirs(cells)
    write_results(cells, CONFIG, [
        {"method": "snip", "sparsity": 0.9, "seed": s, "sanity": None, "density": 0.1,
         "test_accuracy": a} for s, a in ((0, 0.7), (1, 0.8))] + [
        {"method": "snip", "sparsity": 0.9, "seed": 0, "sanity": "shuffle", "density": 0.1,
         "test_accuracy": 0.6}], "cells", procedure="prune_at_init")
    unstable = paths["instability"] = str(tmp_path / "inst")
    os.makedirs(unstable)
    write_results(unstable, {"training": CONFIG}, [
        {"round": r, "rewind_iteration": 0, "density": d, "alphas": [0, 0.5, 1],
         "errors": [0.1, e, 0.1], "barrier": e - 0.1, "max_error": e, "stable": e - 0.1 < 0.02}
        for r, d, e in ((0, 1.0, 0.11), (1, 0.8, 0.2))], "instability", procedure="instability")
    return paths


def row(all_rows, experiment, series, setting=""):
    (found,) = [r for r in all_rows if (r["experiment"], r["series"], r["setting"])
                == (experiment, series, setting)]
    return found


def test_rows_average_over_seeds_with_the_dense_row_first(runs):
    found = find_runs(list(runs.values()))
    table = rows(found)
    assert (table[0]["experiment"], table[0]["series"]) in {("imp", "dense"),
                                                              ("prune_at_init", "dense")}
    dense = row(table, "imp", "dense")
    assert dense["n"] == 2
    assert dense["test_accuracy"][0] == pytest.approx(0.85)
    assert dense["test_accuracy"][1] == pytest.approx(0.0707107, rel=1e-5)  # sample std
    ticket = row(table, "imp", "ticket", "round 1")
    assert ticket["test_accuracy"][0] == pytest.approx(0.91)
    assert ticket["compression_ratio"][0] == pytest.approx(1.25)
    assert ticket["fgsm_accuracy"] == (0.4, 0.0, 1)  # joined from seed 0's evaluation only
    assert row(table, "imp", "reinit", "round 1")["fgsm_accuracy"] is None
    snip = row(table, "prune_at_init", "snip", "sparsity 0.9")
    assert snip["n"] == 2 and snip["test_accuracy"][0] == pytest.approx(0.75)
    assert row(table, "prune_at_init", "snip (shuffle)", "sparsity 0.9")["n"] == 1
    assert not any(r["experiment"] == "instability" for r in table)


def test_write_report_markdown_csv_and_plots(runs, tmp_path):
    out = str(tmp_path / "report")
    text = write_report(find_runs(list(runs.values())), out, title="T")
    assert "## lenet300_100 on synthetic" in text
    assert "| imp | dense |  | 2 | 100.00 ± 0.00 | 85.00 ± 7.07 | - | - | 64 ± 0 |" in text
    assert "FGSM epsilon 0.1" in text
    assert "## Instability: lenet300_100 on synthetic" in text
    assert "| instability | round 1 | k = 0 | 1 | 80.00 | 10.00 |" in text
    for name in ("report.md", "report.csv", "accuracy_vs_density_lenet300_100_synthetic.png",
                 "accuracy_vs_flops_lenet300_100_synthetic.png",
                 "instability_lenet300_100_synthetic.png"):
        assert os.path.getsize(os.path.join(out, name)) > 0
    with open(os.path.join(out, "report.csv")) as f:
        table = list(csv.DictReader(f))
    dense = [r for r in table if r["experiment"] == "imp" and r["series"] == "dense"][0]
    assert float(dense["test_accuracy_mean"]) == pytest.approx(0.85)
    assert dense["fgsm_accuracy_mean"] == ""


def test_globs_and_bad_workdirs(runs, tmp_path):
    assert {r.key for r in find_runs([str(tmp_path / "imp_*")])} == {"rounds"}
    with pytest.raises(ValueError, match="no results.json"):
        find_runs([str(tmp_path / "nothing")])
    broken = tmp_path / "broken"
    broken.mkdir()
    write_json(str(broken / "results.json"), {"config": {}, "a": [], "b": []})
    with pytest.raises(ValueError, match="one list of records"):
        find_runs([str(broken)])


def test_layer_lottery_cells_and_unregistered_experiments(tmp_path):
    layers = tmp_path / "layers"
    layers.mkdir()
    write_results(str(layers), {"model": "resnet20", "dataset": "tfds:cifar10"}, [
        {"seed": s, "ticket": "dense", "p": 0, "criterion": None, "test_accuracy": a,
         "multiply_adds": 100} for s, a in ((0, 0.90), (1, 0.92))] + [
        {"seed": 0, "ticket": "layer", "p": 2, "criterion": "grasp", "test_accuracy": 0.91,
         "multiply_adds": 70}], "cells", procedure="layer_lottery")
    tfmot = tmp_path / "tfmot"
    tfmot.mkdir()
    write_results(str(tfmot), {"model": "resnet20", "dataset": "tfds:cifar10"}, [
        {"method": "tfmot_polynomial", "target_density": 0.2, "density": 0.2, "seed": 0,
         "test_accuracy": 0.88}], "runs")
    table = rows(find_runs([str(layers), str(tfmot)]))
    assert [(r["experiment"], r["series"], r["setting"]) for r in table] == [
        ("layer_lottery", "dense", ""), ("layer_lottery", "layer (grasp)", "p = 2"),
        ("runs", "tfmot_polynomial", "target_density 0.2")]
    assert table[0]["test_accuracy"][0] == pytest.approx(0.91) and table[0]["n"] == 2
    assert table[1]["effective_multiply_adds"] == (70.0, 0.0, 1)


def test_diverged_runs_are_shown_and_left_out_of_the_means(tmp_path):
    for seed, (status, accuracy) in enumerate((("ok", 0.9), ("diverged", None), ("ok", 0.8))):
        path = tmp_path / f"imp_{seed}"
        path.mkdir()
        write_results(str(path), {**CONFIG, "seed": seed}, [
            {"round": 0, "control": None, "density": 1.0, "test_accuracy": accuracy,
             "status": status}], "rounds", procedure="imp")
    unstable = tmp_path / "inst"
    unstable.mkdir()
    write_results(str(unstable), {"training": CONFIG}, [
        {"round": 0, "rewind_iteration": 0, "density": 1.0, "barrier": b, "max_error": b,
         "stable": s, "status": st, "alphas": [0, 1], "errors": [0.1, 0.1]}
        for b, s, st in ((0.01, True, "ok"), (None, None, "diverged"))], "instability",
        procedure="instability")
    found = find_runs([str(p) for p in sorted(tmp_path.iterdir())])
    dense = row(rows(found), "imp", "dense")
    assert dense["n"] == 3 and dense["status"] == "1 of 3 diverged"
    assert dense["test_accuracy"] == pytest.approx((0.85, 0.0707107, 2), rel=1e-5)
    text = write_report(found, str(tmp_path / "report"))
    assert "| imp | dense |  | 3 | 1 of 3 diverged | 100.00 ± 0.00 | 85.00 ± 7.07 (n=2) |" in text
    assert "| instability | round 0 | k = 0 | 2 | 1 of 2 diverged |" in text
