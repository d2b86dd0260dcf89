"""Instability analysis (linear mode connectivity, Frankle et al. 2020).

    python experiments/instability.py                       # dense LeNet-300-100 on mnist5k
    python experiments/instability.py --imp_workdir=runs/imp_xxx --rewind_iterations=0,100,500

Writes results.json / results.csv (key "instability": one record per network
and rewind iteration, with the error at each alpha and the barrier) and
instability.png. Rerunning the same command resumes an interrupted run.
"""

import _startup  # noqa: F401  (first: quiet TensorFlow, repo on the path)
from absl import app  # noqa: E402

from lth_keras.procedures.command import command  # noqa: E402
from lth_keras.runs.flags import parse_flags  # noqa: E402

main = command("instability")

if __name__ == "__main__":
    app.run(main, flags_parser=parse_flags)
