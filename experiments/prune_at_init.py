"""Pruning at initialization, random tickets and sanity checks (Su et al. 2020).

    python experiments/prune_at_init.py --sparsities=0.9,0.98 --sanity=none,rearrange
    python experiments/prune_at_init.py --model=conv4 --methods=snip,synflow,random_ticket
    python experiments/prune_at_init.py --budget=scratch_b      # Liu et al. 2019
    tensorboard --logdir runs/

Every (method, sparsity, seed, sanity) cell is one stage of the run
directory; rerunning the same command resumes an interrupted run.
"""

import _startup  # noqa: F401  (first: quiet TensorFlow, repo on the path)
from absl import app  # noqa: E402

from lth_keras.procedures.command import command  # noqa: E402
from lth_keras.runs.flags import parse_flags  # noqa: E402

main = command("prune_at_init")

if __name__ == "__main__":
    app.run(main, flags_parser=parse_flags)
