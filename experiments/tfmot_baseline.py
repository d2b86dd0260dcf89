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

from lth_keras.procedures.command import command  # noqa: E402
from lth_keras.runs.flags import parse_flags  # noqa: E402

main = command("tfmot_baseline")

if __name__ == "__main__":
    app.run(main, flags_parser=parse_flags)
