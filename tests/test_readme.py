"""The README's example runs as written."""

import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_readme_example_runs(tmp_path, monkeypatch):
    with open(os.path.join(ROOT, "README.md")) as f:
        blocks = re.findall(r"```python\n(.*?)```", f.read(), flags=re.S)
    assert blocks
    monkeypatch.chdir(tmp_path)
    for code in blocks:
        exec(compile(code, "README.md", "exec"), {})
    assert (tmp_path / "ticket.keras").exists()


def test_ci_runs_the_readme_test_command():
    with open(os.path.join(ROOT, "README.md")) as f:
        command = re.search(r"pip install -e \"\.\[test\]\" && (python -m pytest[^\n`]*)", f.read()).group(1)
    with open(os.path.join(ROOT, ".ci", "run")) as f:
        assert command.strip() in f.read()
