"""Without the tfmot extra, the command says how to install it (runs without the extra)."""

import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Runs experiments/tfmot_baseline.py in a Python where tf_keras and TFMOT
# cannot be imported, whether or not they are installed.
WITHOUT_EXTRA = r"""
import runpy, sys

class Blocked:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tf_keras", "tensorflow_model_optimization"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Blocked())
script = sys.argv[1]
sys.path.insert(0, script.rsplit("/", 1)[0])
sys.argv = sys.argv[1:]
runpy.run_path(script, run_name="__main__")
"""


def test_command_without_extra_says_how_to_install(tmp_path):
    workdir = tmp_path / "run"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_EXTRA, os.path.join(REPO, "experiments", "tfmot_baseline.py"),
         f"--workdir={workdir}", "--dataset=synthetic", "--iterations=8"],
        env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr[-2000:]
    message = done.stderr.strip().splitlines()[-1]
    assert message.startswith("tfmot_baseline.py: error:")
    assert "tf_keras and tensorflow_model_optimization" in message
    assert "pip install -e '.[tfmot]'" in message and "tensorflow-model-optimization" in message
    assert not workdir.exists()  # refused before any work
