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

from lth_keras.lottery.layer_lottery import LayerLotteryConfig  # noqa: E402
from lth_keras.runs import experiment  # noqa: E402

TABLE = {
    "seed": "d", "criterion": "", "ticket": "", "p": "d", "test_accuracy": ".4f", "dense_test_accuracy": ".4f",
    "win": "", "params": "d", "flops_reduction": ".3f", "wall_time_s": ".1f", "speedup": ".2f",
    "energy_kwh": ".2e", "removed_blocks": "",
}


main = experiment.command("layer_lottery", LayerLotteryConfig, TABLE, "cells")


if __name__ == "__main__":
    app.run(main)
