"""TFMOT weight-level baselines (constant sparsity, gradual magnitude pruning)
beside IMP, trained under tf_keras in a subprocess.

    python experiments/tfmot_baseline.py                  # LeNet-300-100 on mnist5k
    python experiments/tfmot_baseline.py --densities=0.2,0.1 --seeds=0,1,2 \\
        --imp_workdir=runs/imp_<hash>                     # IMP tickets listed beside
    tensorboard --logdir runs/

Needs the tfmot extra (pip install -e '.[tfmot]'). Rerunning the same command
resumes an interrupted run: finished (schedule, density, seed) cells are kept.
"""

import _startup  # noqa: F401  (first: quiet TensorFlow, repo on the path)
from absl import app  # noqa: E402

from lth_keras.baselines.tfmot import TfmotConfig  # noqa: E402
from lth_keras.runs import experiment  # noqa: E402

TABLE = {
    "method": "", "round": "", "seed": "d", "target_density": "", "density": ".4f",
    "test_accuracy": ".4f", "wall_time_s": ".1f", "total_wall_time_s": ".1f",
    "tflite_gzip_bytes": "d", "weights_gzip_bytes": "d", "dense_tflite_gzip_bytes": "d",
}


main = experiment.command("tfmot_baseline", TfmotConfig, TABLE, "runs")


if __name__ == "__main__":
    app.run(main)
