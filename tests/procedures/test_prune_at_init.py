"""The pruning-at-initialization driver: cells, shared masks, summary, resume."""

import json
import os

import numpy as np
import pytest

from lth_keras.procedures.prune_at_init import PruneAtInit, PruneAtInitConfig
from lth_keras.pruning import layer_densities, load_masks
from lth_keras.runs import Workdir
from lth_keras.runs.results import summarize

TINY = dict(dataset="synthetic", iterations=32, eval_every=32, steps_per_execution=32,
            methods=["snip"], sparsities=[0.9], seeds=[0, 1],
            sanity=["none", "rearrange"], jit_compile=False)


def _run(path, log=None, **overrides):
    config = PruneAtInitConfig(**{**TINY, **overrides})
    config.validate()
    driver = PruneAtInit(config, Workdir(path, config.to_dict()), log=log or (lambda *_: None))
    return driver, driver.run()


def test_cells_records_summary_and_artifacts(tmp_path):
    driver, records = _run(str(tmp_path))
    assert [(r["method"], r["seed"], r["sanity"]) for r in records] == [
        cell for s in (0, 1) for cell in [("dense", s, "none"), ("snip", s, "none"),
                                          ("snip", s, "rearrange")]]
    dense = [r for r in records if r["method"] == "dense"]
    records = [r for r in records if r["method"] != "dense"]
    assert [r["density"] for r in dense] == [1.0, 1.0]
    for r in records:
        assert r["density"] == pytest.approx(0.1, abs=1e-5)
        assert 0.0 <= r["test_accuracy"] <= 1.0 and r["iterations"] == 32
        assert set(r["layer_densities"]) == {"fc1/kernel", "fc2/kernel", "output/kernel"}
    # Rearranging keeps each layer's ratio and changes the mask; the same found mask
    # (stored once) underlies both cells.
    for s in (0, 1):
        none = tmp_path / f"cells/snip/sparsity_0.9/seed_{s}/none/masks.npz"
        rearranged = tmp_path / f"cells/snip/sparsity_0.9/seed_{s}/rearrange/masks.npz"
        a, b = load_masks(none), load_masks(rearranged)
        assert layer_densities(a) == layer_densities(b)
        assert not np.array_equal(a["fc1/kernel"], b["fc1/kernel"])
    assert len(list((tmp_path / "masks/snip/sparsity_0.9").glob("seed_*/clean/masks.npz"))) == 2

    results = json.loads((tmp_path / "results.json").read_text())
    assert results["cells"] == sorted(dense + records, key=lambda r: r["seed"])
    assert results["config"]["seeds"] == [0, 1]
    rows = {(r["method"], r["sanity"]): r for r in driver.summary()}
    accuracies = [r["test_accuracy"] for r in records if r["method"] == "snip" and r["sanity"] == "none"]
    assert rows[("snip", "none")]["test_accuracy_mean"] == pytest.approx(np.mean(accuracies))
    assert rows[("snip", "none")]["test_accuracy_std"] == pytest.approx(np.std(accuracies, ddof=1))
    for name in ("summary.md", "summary.csv", "accuracy_vs_sparsity.png", "density_profiles.png"):
        assert (tmp_path / name).stat().st_size > 0
    assert "| snip | 0.9 | none | 2 |" in (tmp_path / "summary.md").read_text()
    assert "| dense | 0 | none | 2 |" in (tmp_path / "summary.md").read_text()
    events = list((tmp_path / "tensorboard/density_profile").glob("seed_*/events.*"))
    assert len(events) == 2


def test_a_rerun_trains_nothing(tmp_path):
    _run(str(tmp_path), seeds=[0], methods=["random_ticket"], sanity=["none"], dense=False)
    record = tmp_path / "cells/random_ticket/sparsity_0.9/seed_0/none/record.json"
    before = record.stat().st_mtime_ns
    lines = []
    _, records = _run(str(tmp_path), lines.append, seeds=[0], methods=["random_ticket"],
                      sanity=["none"], dense=False)
    assert len(records) == 1 and record.stat().st_mtime_ns == before
    assert not any("test accuracy" in str(line) for line in lines)


def test_summarize_one_seed_has_no_std():
    rows = summarize([{"m": "a", "x": 0.5}], ("m",), ("x",))
    assert rows == [{"m": "a", "seeds": 1, "x_mean": 0.5, "x_std": None}]


@pytest.mark.parametrize("field, value, named", [
    ("methods", ["nope"], "--methods"), ("methods", [], "--methods"),
    ("sparsities", [1.0], "--sparsities"), ("seeds", [0, 0], "--seeds"),
    ("sanity", ["nope"], "--sanity"), ("budget", "scratch_x", "--budget"),
    ("synflow_iterations", 0, "--synflow_iterations"),
    ("budget_max_factor", 0.5, "--budget_max_factor"),
])
def test_bad_config_names_the_flag(field, value, named):
    config = PruneAtInitConfig(**{**TINY, field: value})
    with pytest.raises(ValueError, match=named):
        config.validate()


def test_too_few_examples_per_class_fails_before_work(tmp_path):
    config = PruneAtInitConfig(**{**TINY, "examples_per_class": 1000})
    with pytest.raises(ValueError, match="--examples_per_class"):
        PruneAtInit(config, Workdir(str(tmp_path), config.to_dict()))
    assert not os.path.exists(tmp_path / "cells")


def _procedure(path, **overrides):
    config = PruneAtInitConfig(**{**TINY, **overrides})
    config.validate()
    return PruneAtInit(config, Workdir(str(path), config.to_dict()), log=lambda *_: None)


def test_label_noise_kind_changes_the_training_labels(tmp_path):
    # No training: the procedure's data is what every cell trains on.
    noisy = dict(methods=["random"], label_noise=0.4)
    symmetric = _procedure(tmp_path / "s", **noisy).data.arrays("train")[1]
    asymmetric = _procedure(tmp_path / "a", **noisy, label_noise_kind="asymmetric"
                            ).data.arrays("train")[1]
    clean = PruneAtInitConfig(**TINY).load_data().arrays("train")[1]
    assert not np.array_equal(symmetric, asymmetric)
    moved = asymmetric != clean
    assert 0.3 < moved.mean() < 0.5
    # Synthetic data has no class-pair map: asymmetric noise is the cyclic c -> c + 1.
    np.testing.assert_array_equal(asymmetric[moved], (clean[moved] + 1) % 10)
    assert not np.array_equal(symmetric[moved], (clean[moved] + 1) % 10)


def test_each_mask_is_a_stage_before_the_first_cell_it_serves(tmp_path):
    procedure = _procedure(tmp_path, seeds=[0], sanity=["none", "rearrange", "half_data"])
    stages = procedure.stages()
    assert [s[0] for s in stages] == ["cells", "masks", "cells", "cells", "masks", "cells"]
    assert stages[1][-1] == "clean" and stages[4][-1] == "half_data"
    assert [procedure.is_result(s) for s in stages] == [s[0] == "cells" for s in stages]


def test_report_rows():
    dense = {"method": "dense", "sparsity": 0.0, "sanity": "none", "density": 1.0}
    assert PruneAtInit.report_row(dense) == ("dense", "", None)
    snip = {"method": "snip", "sparsity": 0.9, "sanity": "none", "density": 0.1}
    assert PruneAtInit.report_row(snip) == ("snip", "sparsity 0.9", 0.9)
    assert PruneAtInit.report_row({**snip, "sanity": "reinit"})[0] == "snip (reinit)"
