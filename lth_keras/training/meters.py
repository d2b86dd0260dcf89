"""What a training costs: its steady step time, its CPU time, its energy.

A training's whole wall-clock time is decided by whatever stalls the process
outside its steps (another job, a slow disk), so speed is compared by the
median time of a step over the steady evaluation periods, with CPU time
beside it; energy and CO2 come from codecarbon's offline tracker, when the
``energy`` extra is installed.
"""

import importlib.util
import logging
import os
import statistics
import time

import keras

# codecarbon CPU power modes that read a power meter; the others estimate from TDP x load.
MEASURED_POWER_MODES = ("intel_rapl", "intel_power_gadget", "apple_powermetrics")
NO_CODECARBON = ("energy will not be measured: codecarbon is not installed "
                 "(pip install -e '.[energy]' or pip install codecarbon; --noenergy silences this).")


def codecarbon_available():
    """Whether codecarbon can be imported (found without importing it)."""
    return importlib.util.find_spec("codecarbon") is not None


def cpu_seconds():
    """User plus system CPU time of this process so far."""
    t = os.times()
    return t.user + t.system


def median_step_time(periods):
    """The median seconds per step of the steady ``(seconds, steps)`` periods.

    The first period holds tracing and compilation, so it is left out unless
    it is the only one; periods without steps are ignored. None without steps.
    """
    rates = [seconds / steps for seconds, steps in periods if steps > 0]
    steady = rates[1:] or rates
    return statistics.median(steady) if steady else None


def ratio(before, after):
    """``before / after``, None unless both are positive numbers."""
    return before / after if before and after else None


class TrainingClock(keras.callbacks.Callback):
    """Time spent in training steps (evaluations excluded) per evaluation
    period, and the median step time of the steady periods: the cost a
    compacted ticket should cut, untouched by stalls between periods."""

    def __init__(self):
        super().__init__()
        self.periods = []  # (seconds, iterations) of each evaluation period

    def on_epoch_begin(self, epoch, logs=None):
        self._began = time.perf_counter()
        self._first = int(self.model.optimizer.iterations.numpy())
        self._last = self._began

    def on_train_batch_end(self, batch, logs=None):
        self._last = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        steps = int(self.model.optimizer.iterations.numpy()) - self._first
        self.periods.append((self._last - self._began, steps))

    def summary(self):
        return {"train_steps_time_s": sum(s for s, _ in self.periods),
                "steady_step_time_s": median_step_time(self.periods)}


class EnergyMeter:
    """Energy and CO2 of a stretch of work by codecarbon's offline tracker.

    No network: the carbon intensity is codecarbon's bundled figure for
    ``country_iso_code``. Records whether CPU power was measured (RAPL and the
    like) or estimated (TDP x load), so a reader knows what the numbers are.
    """

    def __init__(self, country_iso_code, enabled=True):
        self.country = country_iso_code
        self.enabled = enabled
        self._tracker = None
        self._note = None if enabled else "disabled by --noenergy"

    def __enter__(self):
        if not self.enabled:
            return self
        try:
            from codecarbon import OfflineEmissionsTracker

            logging.getLogger("codecarbon").setLevel(logging.ERROR)
            self._tracker = OfflineEmissionsTracker(
                country_iso_code=self.country, save_to_file=False, log_level="error",
                measure_power_secs=5, tracking_mode="process", allow_multiple_runs=True)
            self._tracker.start()
        except Exception as error:  # noqa: BLE001  (energy is reported, never fatal)
            self._tracker = None
            self._note = f"codecarbon unavailable: {type(error).__name__}: {error}"
        return self

    def __exit__(self, *exc):
        if self._tracker is None:
            self.result = self._empty(self._note)
            return
        try:
            emissions = self._tracker.stop()
            data = self._tracker.final_emissions_data
            modes = [getattr(h, "_mode", None) for h in getattr(self._tracker, "_hardware", [])]
            mode = next((m for m in modes if m), "unknown")
            self.result = {
                "energy_kwh": float(data.energy_consumed),
                "emissions_kg_co2": float(emissions),
                "cpu_energy_kwh": float(data.cpu_energy),
                "ram_energy_kwh": float(data.ram_energy),
                "country_iso_code": data.country_iso_code,
                "power_measured": mode in MEASURED_POWER_MODES,
                "cpu_power_method": mode,
                "energy_note": None,
            }
        except Exception as error:  # noqa: BLE001
            self.result = self._empty(f"codecarbon failed: {type(error).__name__}: {error}")

    def _empty(self, note):
        return {"energy_kwh": None, "emissions_kg_co2": None, "country_iso_code": self.country,
                "power_measured": None, "energy_note": note}
