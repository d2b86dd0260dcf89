"""Two local workers under MultiWorkerMirroredStrategy (TF_CONFIG on 127.0.0.1)."""

import json
import os
import re
import socket
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_two_workers_agree_on_masks_and_only_the_chief_writes(tmp_path):
    workers = [f"127.0.0.1:{p}" for p in _free_ports(2)]
    procs = []
    for index in range(2):
        env = dict(os.environ, TF_CONFIG=json.dumps(
            {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}))
        procs.append(subprocess.Popen(
            [sys.executable, f"{ROOT}/experiments/imp.py", "--strategy=multi_worker",
             "--dataset=synthetic", "--iterations=64", "--eval_every=32", "--rounds=1",
             "--controls=", f"--workdir={tmp_path}/run"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env))
    outputs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outputs):
        assert p.returncode == 0, err[-3000:]
    digests = [re.search(r"final masks sha256 (\w+)", out).group(1) for out, _ in outputs]
    assert digests[0] == digests[1]
    assert os.path.exists(f"{tmp_path}/run/round_01/record.json")
    # The second worker wrote only to a scratch directory, removed at the end.
    scratch = re.search(r"run directory (\S+)", outputs[1][0]).group(1)
    assert scratch != f"{tmp_path}/run" and not os.path.exists(scratch)
    assert sorted(os.listdir(tmp_path)) == ["run"]
