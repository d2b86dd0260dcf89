"""The layer lottery's summary over seeds and its figures."""

import pytest

from lth_keras.reporting.layer_lottery import FIGURES, plot_layer_lottery, summarize


def test_summary_means_over_seeds():
    records = [
        {"criterion": None, "ticket": "dense", "p": 0, "test_accuracy": 0.9},
        {"criterion": None, "ticket": "dense", "p": 0, "test_accuracy": 0.8},
        {"criterion": "grasp", "ticket": "layers", "p": 1, "test_accuracy": 0.7, "win": False},
        {"criterion": "grasp", "ticket": "layers", "p": 1, "test_accuracy": 0.9, "win": True},
    ]
    dense, layers = summarize(records)
    assert dense["test_accuracy_mean"] == pytest.approx(0.85) and dense["seeds"] == 2
    assert layers["wins"] == 1 and layers["test_accuracy_std"] == pytest.approx(0.1414, abs=1e-4)


def test_speedup_figure_plots_the_median_step_time_ratio(tmp_path):
    key, label, _ = FIGURES["speedup_vs_p"]
    assert key == "speedup" and "median step time" in label
    records = [
        {"criterion": None, "ticket": "dense", "p": 0, "test_accuracy": 0.9},
        {"criterion": "snip", "ticket": "layers", "p": 1, "test_accuracy": 0.8, "win": False,
         "speedup": 1.4, "cpu_speedup": 1.3, "wall_speedup": 0.5, "flops_reduction": 0.2},
    ]
    summary = summarize(records)
    assert summary[1]["speedup_mean"] == 1.4 and summary[1]["wall_speedup_mean"] == 0.5
    plot_layer_lottery(summary, lambda name: str(tmp_path / f"{name}.png"), "title")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["accuracy_vs_p.png", "speedup_vs_p.png"]
