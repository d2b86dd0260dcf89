"""Lottery tickets by iterative magnitude pruning, with rewinding and controls.

    python experiments/imp.py                      # LeNet-300-100 on mnist5k
    python experiments/imp.py --model=conv4 --prune_rate_conv=0.1 --dataset=tfds:cifar10
    tensorboard --logdir runs/

Rerunning the same command resumes an interrupted run; see README.md.
"""

import _startup  # noqa: F401  (first: quiet TensorFlow, repo on the path)
from absl import app  # noqa: E402

from lth_keras.procedures.command import command  # noqa: E402
from lth_keras.runs.flags import parse_flags  # noqa: E402

main = command("imp")

if __name__ == "__main__":
    app.run(main, flags_parser=parse_flags)
