"""Every command's tiny run gives the results it gave before the procedures
refactor (issue 11), to the bit: later refactors are held to it too.

A digest changes only when results change. If a change is meant to change
results, rerun ``python tests/procedures/golden.py /tmp/golden`` and pin the
new digests here, saying why in the commit.
"""

import os

import pytest

import golden

PINNED = {
    "imp": "156eea8ee37d23dd",
    "prune_at_init": "a419c71ed8ed3a70",
    "layer_lottery": "e04bcf3401ac1c93",
    "instability": "afe72fb6f3f38541",
    "evaluate": "976d9297a5c9aedd",
    "report": "5bb437aec964a7aa",
    "tfmot_baseline": "670711946c08530b",
}


@pytest.fixture(scope="session")
def root(tmp_path_factory):
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # shared by every worker of this session
    return str(base / "golden")


def test_every_command_is_pinned():
    assert sorted(PINNED) == sorted(name for name, *_ in golden.RUNS)


@pytest.mark.parametrize("name", sorted(PINNED))
def test_results_are_unchanged(name, root):
    golden.run(name, root)
    assert golden.digest(name, root) == PINNED[name], golden.canonical_results(name, root)
