"""Evaluates every saved model of a run: clean, adversarial, corrupted, calibrated.

    python experiments/evaluate.py --workdir=runs/imp_xxx
    python experiments/evaluate.py --workdir=runs/imp_xxx --name=eval_eps03 \
        --fgsm_epsilon=0.3 --pgd_epsilon=0.3

Writes <workdir>/<name>/results.json and results.csv (key "evaluation", one
record per saved model) and never touches the run's own results; the report
(experiments/report.py) joins the two. Rerunning the same command resumes.
"""

import _startup  # noqa: F401  (first: quiet TensorFlow, repo on the path)
from absl import app  # noqa: E402

from lth_keras.procedures.command import command  # noqa: E402
from lth_keras.runs.flags import parse_flags  # noqa: E402

main = command("evaluate")

if __name__ == "__main__":
    app.run(main, flags_parser=parse_flags)
