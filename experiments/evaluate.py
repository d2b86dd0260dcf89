"""Evaluates every saved model of a run: clean, adversarial, corrupted, calibrated.

    python experiments/evaluate.py --workdir=runs/imp_xxx
    python experiments/evaluate.py --workdir=runs/imp_xxx --name=eval_eps03 \
        --fgsm_epsilon=0.3 --pgd_epsilon=0.3

Writes <workdir>/<name>/results.json and results.csv (key "evaluation", one
record per saved model) and never touches the run's own results; the report
(experiments/report.py) joins the two. Rerunning the same command resumes.
"""

import _startup  # noqa: F401  (first: quiet TensorFlow, repo on the path)
from absl import app, flags  # noqa: E402

from lth_keras.analysis.evaluation import EvaluationConfig  # noqa: E402
from lth_keras.runs.flags import config_from_flags, define_flags, fail  # noqa: E402

define_flags(EvaluationConfig)
FLAGS = flags.FLAGS

TABLE = {
    "stage": "", "density": ".4f", "clean_accuracy": ".4f", "fgsm_accuracy": ".4f",
    "pgd_accuracy": ".4f", "mean_corruption_accuracy": ".4f", "ece": ".4f", "nll": ".4f",
    "brier": ".4f",
}


def main(argv):
    del argv
    import os

    from lth_keras.analysis.evaluation import Evaluation
    from lth_keras.runs.results import format_table
    from lth_keras.runs.workdir import ConfigMismatchError

    try:
        config = config_from_flags(EvaluationConfig)
        config.validate()
        if not FLAGS.workdir:
            raise ValueError("--workdir: the run directory to evaluate is required.")
        evaluation = Evaluation(config, FLAGS.workdir)
    except ConfigMismatchError as error:
        fail("evaluate.py", f"{error} (here: pass another --name)")
    except ValueError as error:
        fail("evaluate.py", error)
    print(f"evaluate.py: evaluating {len(evaluation.stages)} saved model(s) of {FLAGS.workdir} "
          f"into {evaluation.workdir.path}")
    records = evaluation.run()
    print(format_table(records, TABLE))
    print(f"results: {os.path.join(evaluation.workdir.path, 'results.json')}")


if __name__ == "__main__":
    app.run(main)
