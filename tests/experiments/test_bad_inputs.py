"""Bad inputs to every command: one clear line, a non-zero exit, nothing left.

Each command's cases run in one process (``bad_input_runner.py``: the
script imported once, its flags parsed anew per case), since starting Python
and TensorFlow costs about 6 s a case; a few cases also run as real command
lines, to show that the runner sees what a user sees.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SECONDS = 20

IMP = ["--dataset=synthetic", "--iterations=64", "--eval_every=32", "--rounds=1",
       "--workdir={tmp}/run"]
PRUNE_AT_INIT = ["--dataset=synthetic", "--iterations=32", "--eval_every=32", "--methods=random",
                 "--sparsities=0.9", "--seeds=0", "--workdir={tmp}/run"]
LAYER_LOTTERY = ["--dataset=synthetic", "--iterations=4", "--eval_every=4", "--batch_size=8",
                 "--steps_per_execution=4", "--remove=1", "--criterion=snip", "--noenergy",
                 "--score_examples_per_class=1", "--workdir={tmp}/run"]
INSTABILITY = ["--workdir={tmp}/run"]  # no training flag: some cases pass --imp_workdir
EVALUATE = ["--workdir={fixtures}/fake_imp", "--name=evaluation"]
TFMOT = ["--dataset=synthetic", "--iterations=64", "--eval_every=32", "--densities=0.5",
         "--pruning_frequency=16", "--workdir={tmp}/run"]
NPZ = "--dataset={fixtures}/"

# command -> (base flags, [(case, flags, what the one line must name), ...]).
CASES = {
    "imp": (IMP, [
        ("non-finite learning rate", ["--learning_rate=inf"], "--learning_rate"),
        ("non-finite weight decay", ["--optimizer=adamw", "--weight_decay=nan"], "--weight_decay"),
        ("non-finite momentum", ["--optimizer=sgd", "--momentum=nan"], "--momentum"),
        ("non-finite gamma", ["--gamma=nan"], "--gamma"),
        ("non-finite epochs", ["--iterations=0", "--epochs=inf"], "--epochs"),
        ("non-finite prune rate", ["--prune_rate=nan"], "--prune_rate"),
        ("negative warm-up", ["--warmup_iterations=-10"], "--warmup_iterations"),
        ("warm-up past the end", ["--warmup_iterations=100"], "--warmup_iterations"),
        ("momentum of 1", ["--optimizer=sgd", "--momentum=1"], "--momentum"),
        ("gamma above 1", ["--schedule=step", "--milestones=32", "--gamma=1.5"], "--gamma"),
        ("negative milestone", ["--schedule=step", "--milestones=-5,1000"], "--milestones"),
        ("decreasing milestones", ["--schedule=step", "--milestones=40,20"], "--milestones"),
        ("milestone past the end", ["--schedule=step", "--milestones=1000"], "--milestones"),
        ("negative seed", ["--seed=-1"], "--seed"),
        ("too many iterations", ["--iterations=99999999999"], "--iterations"),
        ("weight decay on plain adam", ["--optimizer=adam", "--weight_decay=0.1"],
         ("--weight_decay", "adamw")),
        ("momentum with adam", ["--momentum=0.5"], ("--momentum", "sgd")),
        ("milestones without step decay", ["--milestones=32"], ("--milestones", "step")),
        ("step decay without milestones", ["--schedule=step"], "--schedule"),
        ("gamma without step decay", ["--gamma=0.5"], "--gamma"),
        ("epochs beside iterations", ["--epochs=5"], "--epochs"),
        ("finetune with a rewind iteration", ["--retrain=finetune", "--rewind_iteration=32"],
         ("--rewind_iteration", "--retrain=")),
        ("optimizer state without rewinding", ["--retrain=lr_rewind", "--rewind_optimizer_state"],
         "--rewind_optimizer_state"),
        ("label noise kind without noise", ["--label_noise_kind=asymmetric"], "--label_noise_kind"),
        ("data_dir without tfds", ["--data_dir=/tmp"], "--data_dir"),
        ("duplicate controls", ["--controls=reinit,reinit"], "--controls"),
        ("batch larger than the training set", ["--batch_size=5000"], ("--batch_size", "600")),
        ("epochs beyond any run", ["--iterations=0", "--epochs=1e30"], "--epochs"),
        ("missing npz", [NPZ + "missing.npz"], ("--dataset", "missing.npz")),
        ("npz that is a directory", [NPZ + "folder.npz"], ("--dataset", "folder.npz")),
        ("npz that is not an archive", [NPZ + "garbage.npz"], ("--dataset", "garbage.npz")),
        ("npz with pickled objects", [NPZ + "pickled.npz"], ("pickled.npz", "x_test")),
        ("npz lengths differ", [NPZ + "short.npz"], ("short.npz", "x_train has 200", "y_train 150")),
        ("npz negative label", [NPZ + "negative.npz"], ("negative.npz", "y_train")),
        ("npz nan pixels", [NPZ + "nan_pixels.npz"], ("nan_pixels.npz", "x_train")),
        ("npz images of two shapes", [NPZ + "shapes.npz"], ("shapes.npz", "x_test")),
        ("tfds namespace", ["--dataset=tfds:huggingface:mnist"], ("--dataset", "huggingface")),
        ("workdir that is a file", ["--workdir={fixtures}/a_file"], "--workdir"),
    ]),
    "prune_at_init": (PRUNE_AT_INIT, [
        ("non-finite grasp temperature", ["--methods=grasp", "--grasp_temperature=inf"],
         "--grasp_temperature"),
        ("non-finite sparsity", ["--sparsities=nan"], "--sparsities"),
        ("duplicate seeds", ["--seeds=0,0"], "--seeds"),
        ("duplicate sparsities", ["--sparsities=0.9,0.9"], "--sparsities"),
        ("grasp option without grasp", ["--grasp_temperature=100"], ("--grasp_temperature", "grasp")),
        ("budget cap without scratch_b", ["--budget_max_factor=2"], "--budget_max_factor"),
        ("batch larger than the training set", ["--batch_size=1000"], "--batch_size"),
        ("seed beyond the seed range", ["--seeds=4294967296"], "--seeds"),
        ("npz that is a directory", [NPZ + "folder.npz"], ("--dataset", "folder.npz")),
    ]),
    "layer_lottery": (LAYER_LOTTERY, [
        ("non-finite xi", ["--xi=nan"], "--xi"),
        ("xi beyond 100 points", ["--xi=1000"], "--xi"),
        ("non-finite gate penalty", ["--gate_l1=inf"], "--gate_l1"),
        ("duplicate removals", ["--remove=1,1"], "--remove"),
        ("duplicate criteria", ["--criterion=snip,snip"], "--criterion"),
        ("retrain with algorithm 2", ["--retrain=lr_rewind"], ("--retrain", "--algorithm=1")),
        ("gate penalty without gates", ["--gate_l1=0.01"], "--gate_l1"),
        ("missing npz", [NPZ + "missing.npz"], ("--dataset", "missing.npz")),
    ]),
    "instability": (INSTABILITY, [
        ("non-finite learning rate", ["--learning_rate=nan"], "--learning_rate"),
        ("duplicate rewind iterations", ["--rewind_iterations=0,0"], "--rewind_iterations"),
        ("duplicate data seeds", ["--data_seeds=1,1"], "--data_seeds"),
        ("duplicate rounds", ["--rounds=0,0"], "--rounds"),
        ("imp_workdir without a run", ["--imp_workdir={fixtures}/not_a_run"], "--imp_workdir"),
        ("imp_workdir that is a file", ["--imp_workdir={fixtures}/a_file"], "--imp_workdir"),
        ("training flag with imp_workdir",
         ["--imp_workdir={fixtures}/fake_imp", "--learning_rate=0.1"], "--learning_rate"),
        ("batch statistics option unused", ["--bn_statistics_batches=5"], "--bn_statistics_batches"),
    ]),
    "evaluate": (EVALUATE, [
        ("non-finite fgsm epsilon", ["--fgsm_epsilon=nan"], "--fgsm_epsilon"),
        ("non-finite pgd step", ["--pgd_step_size=inf"], "--pgd_step_size"),
        ("duplicate stages", ["--stages=round_00,round_00/"], "--stages"),
        ("duplicate corruptions", ["--corruptions=contrast,contrast"], "--corruptions"),
        ("duplicate severities", ["--severities=1,1"], "--severities"),
        ("pgd option without pgd", ["--pgd_epsilon=0", "--pgd_steps=5"], "--pgd_steps"),
        ("corruption data_dir offline", ["--corruption_data_dir=/tmp"], "--corruption_data_dir"),
        ("workdir that is no run", ["--workdir={fixtures}/not_a_run"], "--workdir"),
        ("workdir that is a file", ["--workdir={fixtures}/a_file"], "--workdir"),
    ]),
    "report": ([], [
        ("no workdirs", ["--workdirs="], "--workdirs"),
        ("workdir that is no run", ["--workdirs={fixtures}/not_a_run"], "--workdirs"),
        ("workdir that is a file", ["--workdirs={fixtures}/a_file"], "--workdirs"),
        ("output that is a file", ["--workdirs={fixtures}/fake_imp", "--output={fixtures}/a_file"],
         "--output"),
    ]),
    "tfmot_baseline": (TFMOT, [
        ("non-finite pruning power", ["--pruning_power=inf"], "--pruning_power"),
        ("non-finite pruning end", ["--pruning_end=nan"], "--pruning_end"),
        ("duplicate densities", ["--densities=0.5,0.5"], "--densities"),
        ("duplicate seeds", ["--seeds=0,0"], "--seeds"),
        ("duplicate schedules", ["--pruning_schedules=constant,constant"], "--pruning_schedules"),
        ("polynomial option without it", ["--pruning_schedules=constant", "--pruning_power=2"],
         "--pruning_power"),
        ("seed beside seeds", ["--seeds=0,1", "--seed=3"], "--seed"),
        ("imp_workdir that is a file", ["--imp_workdir={fixtures}/a_file"], "--imp_workdir"),
    ]),
}


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory):
    """Bad data files, a file, a folder that is no run and a run stub."""
    root = tmp_path_factory.mktemp("fixtures")
    rng = np.random.default_rng(0)

    def npz(name, n_x=200, n_y=200, **changes):
        arrays = dict(x_train=rng.integers(0, 255, (n_x, 8, 8)).astype(np.uint8),
                      y_train=np.arange(n_y) % 3, x_test=np.zeros((30, 8, 8), np.uint8),
                      y_test=np.arange(30) % 3)
        np.savez(root / name, **{**arrays, **changes})

    npz("short.npz", n_y=150)
    npz("negative.npz", y_train=np.r_[-1, np.arange(199) % 3])
    npz("nan_pixels.npz", x_train=np.full((200, 8, 8), np.nan, np.float32))
    npz("shapes.npz", x_test=np.zeros((30, 9, 9), np.uint8))
    npz("pickled.npz", x_test=np.array([{}] * 30, dtype=object))
    (root / "garbage.npz").write_text("not an archive")
    (root / "folder.npz").mkdir()
    (root / "a_file").write_text("a file\n")
    (root / "not_a_run").mkdir()
    stub = root / "fake_imp"
    stub.mkdir()
    config = {"model": "lenet300_100", "dataset": "synthetic"}
    (stub / "config.json").write_text(json.dumps(config))
    (stub / "results.json").write_text(json.dumps({"procedure": "imp", "config": config,
                                                   "rounds": []}))
    return str(root)


_DRIVEN = {}  # command -> its cases' results, driven once per test process


def driven(command, tmp_path_factory, fixtures):
    """The runner's results of ``command``'s cases, by case name."""
    if command not in _DRIVEN:
        base, cases = CASES[command]
        where = tmp_path_factory.mktemp(command)
        spec = {"command": command, "fixtures": fixtures, "scratch": str(where / "cases"),
                "cases": [{"name": name, "args": [*base, *args]} for name, args, _ in cases]}
        with open(where / "cases.json", "w") as f:
            json.dump(spec, f)
        done = subprocess.run([sys.executable, os.path.join(HERE, "bad_input_runner.py"),
                               str(where / "cases.json"), str(where / "results.json")],
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        with open(where / "results.json") as f:
            _DRIVEN[command] = {r["name"]: r for r in json.load(f)["results"]}
    return _DRIVEN[command]


def problems(result, named):
    """What is wrong with one bad input's outcome (empty: nothing)."""
    found, lines = [], result["stderr"].splitlines()
    if result["code"] == 0:
        found.append("exit status 0")
    if len(lines) != 1:
        found.append(f"{len(lines)} stderr lines")
    named = (named,) if isinstance(named, str) else named
    missing = [n for n in named if not any(n in line for line in lines)]
    if missing:
        found.append(f"does not name {missing}")
    if result["left"]:
        found.append(f"left {result['left']}")
    if result["seconds"] > SECONDS:
        found.append(f"took {result['seconds']:.1f} s")
    return found


def test_the_table_covers_every_command_and_forty_inputs():
    assert sorted(CASES) == sorted(["imp", "prune_at_init", "layer_lottery", "instability",
                                    "evaluate", "report", "tfmot_baseline"])
    assert sum(len(cases) for _, cases in CASES.values()) >= 40
    names = [name for _, cases in CASES.values() for name, _, _ in cases]
    assert len(set(names)) > len(CASES)


def test_the_checker_sees_each_problem():
    good = {"code": 2, "stderr": "x.py: error: --flag: bad.\n", "left": [], "seconds": 0.1}
    assert problems(good, "--flag") == []
    bad = {"code": 0, "stderr": "Traceback\n  line\n", "left": ["runs/x/config.json"],
           "seconds": 25.0}
    assert len(problems(bad, "--flag")) == 5


@pytest.mark.parametrize("command", sorted(CASES))
def test_bad_inputs_fail_in_one_line_leaving_nothing(command, tmp_path_factory, fixtures):
    results = driven(command, tmp_path_factory, fixtures)
    assert list(results) == [name for name, _, _ in CASES[command][1]]
    failures = []
    for name, _, named in CASES[command][1]:
        result = results[name]
        for problem in problems(result, named):
            failures.append(f"{command} {name!r} {result['args']}: {problem}\n"
                            f"  stderr: {result['stderr'][-600:]!r}")
    assert not failures, "\n".join(failures)


# Real command lines: the runner's outcome is what a user gets.
SUBPROCESS = (("imp", "non-finite learning rate"), ("imp", "npz lengths differ"),
              ("prune_at_init", "duplicate seeds"))


@pytest.mark.parametrize("command, name", SUBPROCESS)
def test_real_command_lines_match_the_runner(command, name, tmp_path, tmp_path_factory, fixtures):
    base, cases = CASES[command]
    args = next(a for n, a, _ in cases if n == name)
    flags = [a.format(tmp=str(tmp_path), fixtures=fixtures) for a in [*base, *args]]
    real = subprocess.run([sys.executable, os.path.join(REPO, "experiments", f"{command}.py"),
                           *flags], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    runner = driven(command, tmp_path_factory, fixtures)[name]
    assert real.returncode == runner["code"] == 2
    assert real.stderr == runner["stderr"] and len(real.stderr.splitlines()) == 1
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("flag, named", [("--batch_size=1.5", "--batch_size"),
                                         ("--nosuch_flag=1", "nosuch_flag")])
def test_values_absl_cannot_parse_fail_in_one_line(flag, named, tmp_path):
    real = subprocess.run([sys.executable, os.path.join(REPO, "experiments", "imp.py"), flag,
                           f"--workdir={tmp_path}/run"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert real.returncode == 2
    assert len(real.stderr.splitlines()) == 1 and named in real.stderr, real.stderr
    assert os.listdir(tmp_path) == []
