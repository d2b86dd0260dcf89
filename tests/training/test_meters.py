"""Training meters: the median steady step time, CPU time, energy (no sleeping)."""

import socket
import types

import pytest

from lth_keras.training import meters


def test_median_step_time_leaves_out_the_first_period_and_stalls_do_not_decide_it():
    # The first period compiles; the fourth was stalled by another job.
    periods = [(9.0, 4), (0.4, 4), (0.44, 4), (4.0, 4), (0.42, 4)]
    assert meters.median_step_time(periods) == pytest.approx((0.105 + 0.11) / 2)
    assert meters.median_step_time([(2.0, 4)]) == pytest.approx(0.5)  # one period: itself
    assert meters.median_step_time([(2.0, 4), (1.0, 0)]) == pytest.approx(0.5)
    assert meters.median_step_time([]) is None


def test_training_clock_measures_each_period_from_the_callback_hooks(monkeypatch):
    now = [0.0]
    monkeypatch.setattr(meters.time, "perf_counter", lambda: now[0])
    iterations = types.SimpleNamespace(value=0)
    iterations.numpy = lambda: iterations.value
    model = types.SimpleNamespace(optimizer=types.SimpleNamespace(iterations=iterations))
    clock = meters.TrainingClock()
    clock.set_model(model)
    # (seconds per step, seconds idle after the steps, before the period ends)
    for epoch, (step, idle) in enumerate([(1.0, 0.0), (0.1, 30.0), (0.2, 0.0), (0.12, 0.0)]):
        clock.on_epoch_begin(epoch)
        for batch in range(2):  # steps_per_execution = 2: one call, 2 iterations
            now[0] += 2 * step
            iterations.value += 2
            clock.on_train_batch_end(batch)
        now[0] += idle  # evaluation and stalls are outside the steps
        clock.on_epoch_end(epoch)
    assert clock.periods == [pytest.approx((4 * s, 4)) for s in (1.0, 0.1, 0.2, 0.12)]
    summary = clock.summary()
    assert summary["steady_step_time_s"] == pytest.approx(0.12)
    assert summary["train_steps_time_s"] == pytest.approx(4 * (1.0 + 0.1 + 0.2 + 0.12))


def test_ratio_and_cpu_seconds():
    assert meters.ratio(2.0, 0.5) == 4.0
    assert meters.ratio(None, 0.5) is None and meters.ratio(1.0, 0.0) is None
    assert meters.cpu_seconds() > 0


def test_codecarbon_is_detected_without_importing_it(monkeypatch):
    asked = []
    monkeypatch.setattr(meters.importlib.util, "find_spec", lambda name: asked.append(name))
    assert not meters.codecarbon_available() and asked == ["codecarbon"]


def test_energy_meter_never_fails_the_run():
    with meters.EnergyMeter("USA", enabled=False) as meter:
        pass
    assert meter.result["energy_kwh"] is None and meter.result["country_iso_code"] == "USA"
    assert "--noenergy" in meter.result["energy_note"]


def test_energy_meter_measures_offline_without_a_network(monkeypatch):
    pytest.importorskip("codecarbon", reason="the energy extra (codecarbon) is not installed")

    def refuse(*args, **kwargs):
        raise OSError("no network in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    with meters.EnergyMeter("USA") as meter:
        sum(i * i for i in range(200_000))
    result = meter.result
    assert result["energy_note"] is None, result["energy_note"]
    for name in ("energy_kwh", "emissions_kg_co2", "cpu_energy_kwh", "ram_energy_kwh"):
        assert isinstance(result[name], float) and result[name] >= 0, name
    assert result["country_iso_code"] == "USA" and isinstance(result["power_measured"], bool)
