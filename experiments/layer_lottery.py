"""Layer-pruning lottery tickets (Jordao et al. 2023): remove p residual blocks
at initialization (Algorithm 2) or after training (Algorithm 1), train the
physically smaller network, and compare it with the dense network and with a
filter-removal ticket of the same multiply-adds.

    python experiments/layer_lottery.py                      # ResNet-20, mnist5k, GraSP
    python experiments/layer_lottery.py --criterion=snip --remove=1,2,3 --seeds=0,1,2
    python experiments/layer_lottery.py --algorithm=1 --criterion=cka --rewind_iteration=64
    tensorboard --logdir runs/

Rerunning the same command resumes an interrupted run; see README.md.
"""

import _startup  # noqa: F401  (first: quiet TensorFlow, repo on the path)
from absl import app  # noqa: E402

from lth_keras.procedures.command import command  # noqa: E402
from lth_keras.runs.flags import parse_flags  # noqa: E402

main = command("layer_lottery")

if __name__ == "__main__":
    app.run(main, flags_parser=parse_flags)
