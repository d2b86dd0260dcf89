"""One report from many run directories: tables (mean ± std over seeds) and plots.

    python experiments/report.py --workdirs='runs/imp_*,runs/instability_*' --output=report

Reads each run's results.json (IMP, pruning at init, instability, ...) and
its evaluation (experiments/evaluate.py), and writes report.md, report.csv and
the plots (accuracy against density and against multiply-adds; instability
curves) into --output.
"""

import _startup  # noqa: F401  (first: quiet TensorFlow, repo on the path)
from absl import app, flags  # noqa: E402

from lth_keras.runs.flags import fail, parse_flags  # noqa: E402

flags.DEFINE_list("workdirs", [], "Run directories (or glob patterns) to gather.")
flags.DEFINE_string("output", "report", "Directory the report is written to.")
flags.DEFINE_string("title", "lth_keras report", "Title of report.md.")
flags.DEFINE_string("evaluation", "evaluation",
                    "Evaluation folder of each run joined to its records (evaluate.py --name).")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    import os

    from lth_keras.reporting.report import find_runs, write_report

    try:
        runs = find_runs(FLAGS.workdirs, FLAGS.evaluation)
        text = write_report(runs, FLAGS.output, FLAGS.title)
    except ValueError as error:
        fail("report.py", error)
    print(text)
    print(f"report: {os.path.join(FLAGS.output, 'report.md')}")


if __name__ == "__main__":
    app.run(main, flags_parser=parse_flags)
