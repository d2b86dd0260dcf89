"""A tiny IMP run directory made once per test session and shared by the
command-line tests (under pytest-xdist too: the first worker builds it)."""
import fcntl
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
IMP_FLAGS = ["--dataset=synthetic", "--iterations=64", "--rounds=1", "--eval_every=32"]


def command(script, *flags, check=True):
    """Runs ``experiments/<script>`` with ``flags``; returns the CompletedProcess."""
    result = subprocess.run([sys.executable, os.path.join(REPO, "experiments", script), *flags],
                            cwd=REPO, capture_output=True, text=True, timeout=600)
    if check and result.returncode != 0:
        raise AssertionError(f"{script} failed:\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="session")
def tiny_imp(tmp_path_factory):
    """The run directory of ``imp.py --dataset=synthetic --iterations=64 --rounds=1``."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # shared by every worker of this session
    path = root / "tiny_imp"
    with open(root / "tiny_imp.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (path / "done").exists():
            command("imp.py", *IMP_FLAGS, f"--workdir={path}")
            (path / "done").touch()
    return str(path)
