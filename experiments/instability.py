"""Instability analysis (linear mode connectivity, Frankle et al. 2020).

    python experiments/instability.py                       # dense LeNet-300-100 on mnist5k
    python experiments/instability.py --imp_workdir=runs/imp_xxx --rewind_iterations=0,100,500

Writes results.json / results.csv (key "instability": one record per network
and rewind iteration, with the error at each alpha and the barrier) and
instability.png. Rerunning the same command resumes an interrupted run.
"""

import _startup  # noqa: F401  (first: quiet TensorFlow, repo on the path)
from absl import app, flags  # noqa: E402

from lth_keras.lottery.instability import InstabilityConfig  # noqa: E402
from lth_keras.runs.flags import config_from_flags, define_flags, fail  # noqa: E402

define_flags(InstabilityConfig)
FLAGS = flags.FLAGS

TABLE = {
    "round": "d", "density": ".4f", "rewind_iteration": "d", "barrier": ".4f", "stable": "",
    "max_error": ".4f", "wall_time_s": ".1f",
}


def main(argv):
    del argv
    from lth_keras.runs import experiment

    try:
        config = config_from_flags(InstabilityConfig)
        config.validate()
        config.refuse_training_flags({name for name in FLAGS if FLAGS[name].present})
    except ValueError as error:
        fail("instability.py", error)
    experiment.run("instability", config, FLAGS, TABLE, "instability")


if __name__ == "__main__":
    app.run(main)
