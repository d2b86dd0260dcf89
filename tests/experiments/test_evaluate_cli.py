"""experiments/evaluate.py on a tiny IMP run: every saved model, the run untouched."""
import json
import os

from tiny_imp import command, tiny_imp  # noqa: F401  (the session fixture)


def test_evaluates_every_ticket_and_control_of_an_imp_run(tiny_imp):  # noqa: F811
    results = os.path.join(tiny_imp, "results.json")
    with open(results) as f:
        before = f.read()
    flags = [f"--workdir={tiny_imp}", "--name=eval_cli", "--pgd_steps=2",
             "--corruptions=contrast,impulse_noise", "--severities=1,5"]
    out = command("evaluate.py", *flags).stdout
    assert "evaluating 3 saved model(s)" in out
    with open(os.path.join(tiny_imp, "eval_cli", "results.json")) as f:
        evaluation = json.load(f)
    stages = [r["stage"] for r in evaluation["evaluation"]]
    assert stages == ["round_00", "round_01", "round_01/reinit"]
    with open(results) as f:
        imp = json.load(f)["rounds"]
    for record, source in zip(evaluation["evaluation"], imp):
        # The IMP run measured the same weights on the same test split.
        assert record["source"]["test_accuracy"] == source["test_accuracy"]
        assert abs(record["clean_accuracy"] - source["test_accuracy"]) < 1e-6
        assert record["density"] == source["density"]
        assert {"fgsm_accuracy", "pgd_accuracy", "mean_corruption_accuracy", "ece", "nll",
                "brier", "learning_distance"} <= set(record)
    assert evaluation["config"]["fgsm_epsilon"] == 0.1
    with open(results) as f:
        assert f.read() == before  # the run's own results are never rewritten


def test_refused_evaluations_leave_nothing_behind(tiny_imp, tmp_path):  # noqa: F811
    # A bad --stages is found once the evaluation folder exists: it is removed again.
    done = command("evaluate.py", f"--workdir={tiny_imp}", "--name=eval_refused",
                   "--stages=round_07", check=False)
    assert done.returncode == 2 and "--stages" in done.stderr
    assert not os.path.exists(os.path.join(tiny_imp, "eval_refused"))
    # Not a run directory, existing or not: refused before anything is created.
    empty = tmp_path / "empty"
    empty.mkdir()
    for workdir in (empty, tmp_path / "missing"):
        done = command("evaluate.py", f"--workdir={workdir}", check=False)
        assert done.returncode == 2 and "not a run directory" in done.stderr
    assert os.listdir(empty) == [] and not (tmp_path / "missing").exists()
    done = command("evaluate.py", check=False)
    assert done.returncode == 2 and "--workdir: the run directory to evaluate is required" in done.stderr
