"""experiments/instability.py on the tickets of a tiny IMP run."""
import json
import os

import pytest

from tiny_imp import command, tiny_imp  # noqa: F401  (the session fixture)


def test_instability_of_an_imp_ticket_resumes_by_rerunning(tiny_imp, tmp_path):  # noqa: F811
    workdir = str(tmp_path / "instability")
    flags = [f"--imp_workdir={tiny_imp}", "--rewind_iterations=0,32", "--rounds=1",
             "--points=3", f"--workdir={workdir}"]
    command("instability.py", *flags)
    with open(os.path.join(workdir, "results.json")) as f:
        results = json.load(f)
    records = results["instability"]
    assert [(r["round"], r["rewind_iteration"]) for r in records] == [(1, 0), (1, 32)]
    for r in records:
        assert r["alphas"] == [0.0, 0.5, 1.0] and len(r["errors"]) == 3
        assert abs(r["barrier"] - (max(r["errors"]) - (r["errors"][0] + r["errors"][-1]) / 2)) < 1e-12
        assert r["stable"] == (r["barrier"] < 0.02)
        assert abs(r["density"] - 0.8) < 0.01 and r["data_seeds"] == [1, 2]
    # k = 0 is the IMP run's own rewind point: its saved file is used.
    assert records[0]["rewind_point"] == "imp round_00/rewind.weights.h5"
    assert results["config"]["training"]["dataset"] == "synthetic"
    assert os.path.getsize(os.path.join(workdir, "instability.png")) > 0
    record = os.path.join(workdir, "round_01", "k_000032", "record.json")
    before = os.stat(record).st_mtime_ns
    command("instability.py", *flags)
    assert os.stat(record).st_mtime_ns == before


def test_flags_are_checked_before_any_work(tiny_imp, tmp_path):  # noqa: F811
    from lth_keras.procedures.instability import InstabilityConfig

    config = InstabilityConfig(imp_workdir=tiny_imp)
    config.validate()
    config.check_given({"workdir", "points", "jit_compile"})
    with pytest.raises(ValueError, match="--learning_rate: with --imp_workdir"):
        config.check_given({"learning_rate"})
    for bad, flag in ((dict(rewind_iterations=[5, 5]), "rewind_iterations"),
                      (dict(data_seeds=[3, 3]), "data_seeds"), (dict(points=1), "points"),
                      (dict(split="dev"), "split"), (dict(imp_workdir=str(tmp_path)), "imp_workdir"),
                      (dict(imp_workdir="", rounds=[2]), "rounds"),
                      (dict(imp_workdir="", iterations=64, rewind_iterations=[64]),
                       "rewind_iterations")):
        with pytest.raises(ValueError, match=f"--{flag}"):
            InstabilityConfig(**{"imp_workdir": tiny_imp, **bad}).validate()
