"""The instability procedure on the dense network of its own flags."""

import pytest

from lth_keras.procedures.instability import Instability, InstabilityConfig
from lth_keras.runs import Workdir, layout

TINY = dict(dataset="synthetic", iterations=64, eval_every=32, steps_per_execution=32,
            rewind_iterations=[32, 0], points=3, jit_compile=False)


def _procedure(path, **overrides):
    config = InstabilityConfig(**{**TINY, **overrides})
    config.validate()
    return Instability(config, Workdir(str(path), config.to_dict()), log=lambda *_: None)


def test_the_trajectory_is_a_stage_not_a_result(tmp_path):
    procedure = _procedure(tmp_path)
    stages = procedure.stages()
    assert stages == [layout.instability_trajectory(), layout.instability_pair(0, 32),
                      layout.instability_pair(0, 0)]
    assert [procedure.is_result(s) for s in stages] == [False, True, True]
    records = procedure.run()
    assert [(r["round"], r["rewind_iteration"]) for r in records] == [(0, 32), (0, 0)]
    assert [r["rewind_point"] for r in records] == ["trajectory/k_000032.weights.h5",
                                                    "trajectory/k_000000.weights.h5"]
    assert all(r["density"] == 1.0 for r in records)
    trajectory = procedure.workdir.record(*layout.instability_trajectory())
    assert trajectory["rewind_iterations"] == [0, 32]
    for k in (0, 32):
        assert procedure.workdir.has(layout.weights(layout.rewind_folder(k)),
                                     *layout.instability_trajectory())
    assert procedure.full_config()["training"]["iterations"] == 64
    assert Instability.report_row(records[0]) == ("round 0", "k = 32", 32)


def test_training_flags_only_without_an_imp_run(tmp_path):
    config = InstabilityConfig(**TINY)
    config.check_given({"learning_rate", "seed"})  # the networks are this command's
    with pytest.raises(ValueError, match="--rewind_iterations: 64 is past the end"):
        _procedure(tmp_path, iterations=0, epochs=1.0, eval_every=64, rewind_iterations=[64])
