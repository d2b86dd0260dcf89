"""summary.csv / summary.md beside a run's results."""

from lth_keras.reporting.tables import markdown_text, write_summary_tables
from lth_keras.runs import layout

COLUMNS = (("method", "method", ""), ("sparsity", "sparsity", "g"), ("seeds", "seeds", ""))
MEASURES = (("test_accuracy", "test accuracy (%)"),)
ROWS = [{"method": "snip", "sparsity": 0.9, "seeds": 2, "test_accuracy_mean": 0.9512,
         "test_accuracy_std": 0.0034},
        {"method": "dense", "sparsity": 0.0, "seeds": 1, "test_accuracy_mean": 0.97,
         "test_accuracy_std": None},
        {"method": "grasp", "sparsity": 0.98, "seeds": 0, "test_accuracy_mean": None,
         "test_accuracy_std": None}]


def test_markdown_mean_pm_std_in_percent():
    assert markdown_text(ROWS, COLUMNS, MEASURES).splitlines() == [
        "| method | sparsity | seeds | test accuracy (%) |",
        "|---|---|---|---|",
        "| snip | 0.9 | 2 | 95.12 ± 0.34 |",
        "| dense | 0 | 1 | 97.00 |",
        "| grasp | 0.98 | 0 | - |",
    ]


def test_writes_both_files_atomically(tmp_path):
    write_summary_tables(ROWS, str(tmp_path), COLUMNS, MEASURES)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([layout.SUMMARY_CSV,
                                                                 layout.SUMMARY_MD])
    lines = (tmp_path / layout.SUMMARY_CSV).read_text().splitlines()
    assert lines[0] == "method,sparsity,seeds,test_accuracy_mean,test_accuracy_std"
    assert lines[1] == "snip,0.9,2,0.9512,0.0034"
    write_summary_tables([], str(tmp_path), COLUMNS, MEASURES)
    assert (tmp_path / layout.SUMMARY_CSV).read_text().strip() == "method,sparsity,seeds"
