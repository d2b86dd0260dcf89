"""RigL's update schedule: when, and how much."""

import math

import pytest

from lth_keras.sparse_training import UpdateSchedule


def test_cosine_drop_fraction_and_update_steps():
    s = UpdateSchedule(end=750, delta_t=100, alpha=0.3)
    assert s.drop_fraction(0) == pytest.approx(0.3)
    assert s.drop_fraction(375) == pytest.approx(0.15)
    assert s.drop_fraction(750) == pytest.approx(0.0, abs=1e-12)
    assert s.drop_fraction(100) == pytest.approx(0.15 * (1 + math.cos(math.pi * 100 / 750)))
    assert [t for t in range(1000) if s.is_update(t)] == [100, 200, 300, 400, 500, 600, 700]
    assert s.updates_between(64, 128) == [100] and s.updates_between(0, 64) == []
    assert UpdateSchedule(end=10, alpha=0.2, kind="constant", delta_t=1).drop_fraction(7) == 0.2


@pytest.mark.parametrize("kwargs, named", [
    (dict(delta_t=0), "delta_t"), (dict(alpha=1.5), "alpha"), (dict(kind="linear"), "kind"),
    (dict(start=800), "start")])
def test_bad_schedules_are_refused(kwargs, named):
    with pytest.raises(ValueError, match=named):
        UpdateSchedule(**{"end": 750, **kwargs})
