"""The procedure base: the plumbing every experiment procedure shares.

A procedure is a subclass that writes only its own logic:

- :meth:`setup` loads data and builds models (raising ValueError for bad
  input, before any work);
- :meth:`stages` lists every stage of the run in order (tuples of folder
  names from :mod:`lth_keras.runs.layout`); :meth:`is_result` says which
  of them are records of ``results.json``;
- :meth:`run_stage` does one unfinished stage and returns its record.

The base runs the unfinished stages in order (resume by existence: a stage
with a ``record.json`` is never redone, once its files match the digests
the record holds), finishes each by writing its record
last, writes ``results.json`` / ``results.csv`` through the one writer after
each record, and owns the configuration as run, the data, the training
length and the TensorBoard directories. Registered procedures are looked up
by name in :data:`lth_keras.procedures.PROCEDURES`.
"""

import dataclasses
import os

import tensorflow as tf

from lth_keras.procedures import divergence
from lth_keras.registry import Registry
from lth_keras.runs import layout
from lth_keras.runs.config import RunConfig
from lth_keras.runs.results import write_results
from lth_keras.runs.workdir import default_path
from lth_keras.training.budgets import resolve_iterations
from lth_keras.training.trainer import Trainer

# Procedure name (the experiment command's) -> Procedure subclass.
PROCEDURES = Registry("procedure")


class Procedure:
    """One experiment procedure run into a :class:`~lth_keras.runs.Workdir`.

    Class attributes a procedure sets:
      config_class: its configuration dataclass (one field per flag).
      results_key: the key of its records in ``results.json``.
      table: the columns printed at the end, ``{field: format spec}``.
    """

    name = None  # set when registered
    config_class = RunConfig
    results_key = "records"
    table = {}
    mismatch_hint = ""  # added to the refusal of a run directory with other flags

    def __init__(self, config, workdir, strategy=None, log=print):
        self.config = config
        self.workdir = workdir
        self.strategy = strategy or tf.distribute.get_strategy()
        self.log = log
        self.setup()

    # What a procedure writes ------------------------------------------------

    def setup(self):
        """Loads data and builds models; raises ValueError for bad input."""

    def stages(self):
        """Every stage of the run, in run order."""
        raise NotImplementedError

    def is_result(self, stage):
        """Whether ``stage``'s record is one of the run's results."""
        return True

    def run_stage(self, stage):
        """Does the unfinished ``stage``; returns its record."""
        raise NotImplementedError

    def finished_stage(self, stage, record):
        """Called once a stage's record is written (log lines, summaries)."""

    def resolved(self):
        """What the run resolved beyond its flags (recorded in results.json)."""
        return {"resolved_iterations": self.iterations,
                "replicas": self.strategy.num_replicas_in_sync}

    def write_figures(self, records):
        """Plots and tables beside results.json, from the finished records."""

    def describe(self):
        """The line printed when the run starts."""
        return f"run directory {self.workdir.path}"

    def table_rows(self, records):
        """The rows of the table printed at the end."""
        return records

    @classmethod
    def run_path(cls, config, workdir_flag):
        """The run directory: ``--workdir``, or ``runs/<name>_<config hash>``."""
        return workdir_flag or default_path(cls.name, config)

    # The plumbing -------------------------------------------------------------

    def run(self):
        """Runs every unfinished stage and returns all records in order; with
        ``--stop_on_divergence`` the study stops after the first diverged stage
        (a rerun stops there again)."""
        self.workdir.commit()  # the setup succeeded: the directory is now this run's
        stops = getattr(self.config, "stop_on_divergence", False)
        for stage in self.stages():
            if not self.workdir.finished(*stage):
                record = self.finish(stage, self.run_stage(stage))
            elif stops:  # a rerun of a stopped study stops at the same stage
                record = self.workdir.record(*stage)
            else:
                continue
            if self.stops_at(stage, record):
                break
        self.save_results()
        return self.records()

    def stops_at(self, stage, record):
        """Whether the study stops after ``stage`` (it diverged, and
        ``--stop_on_divergence`` asks to stop); says so in the log."""
        if not (getattr(self.config, "stop_on_divergence", False)
                and divergence.status(record) == divergence.DIVERGED):
            return False
        self.log(f"stopped at {layout.stage_name(stage)}, which {divergence.outcome(record)} "
                 "(--stop_on_divergence): the stages after it were not run.")
        return True

    def finish(self, stage, record):
        """Marks ``stage`` finished with ``record``; saves the results if it is one."""
        self.workdir.finish(record, *stage)
        self.finished_stage(stage, record)
        if self.is_result(stage):
            self.save_results()
        return record

    def records(self):
        """Every finished result stage's record, in run order."""
        return [self.workdir.record(*s) for s in self.stages()
                if self.is_result(s) and self.workdir.finished(*s)]

    def full_config(self):
        """The configuration as run: every flag, and what was resolved from them."""
        return {**self.config.to_dict(), **self.resolved()}

    def save_results(self):
        """results.json, results.csv and the procedure's figures."""
        records = self.records()
        write_results(self.workdir.path, self.full_config(), records, self.results_key,
                      procedure=self.name)
        # Plotting libraries write by path: into a private folder, then moved in.
        with self.workdir.staging() as folder:
            self._figures = folder
            try:
                self.write_figures(records)
            finally:
                self._figures = None

    def load_data(self, config=None, **overrides):
        """The data of ``config`` (default: the run's), through its ``load_data``."""
        return (config or self.config).load_data(**overrides)

    def training_length(self, data, config=None):
        """Sets ``self.iterations`` (``--iterations`` or ``--epochs`` of ``data``)
        and ``self.train_config``: ``config`` (default: the run's) with them."""
        config = config or self.config
        self.iterations = resolve_iterations(config, data)
        self.train_config = dataclasses.replace(config, iterations=self.iterations)
        return self.iterations

    def trainer_for(self, model, config=None):
        """The one training routine for ``model`` on the run's data."""
        return Trainer(model, self.data, config or self.train_config, self.strategy)

    def refuse_past_end(self, flag, iteration):
        """A ValueError if ``iteration`` (of ``flag``) is not before the end of training."""
        if iteration >= self.iterations:
            raise ValueError(f"--{flag}: {iteration} is past the end of training "
                             f"({self.iterations} iterations).")

    def tensorboard(self, *stage):
        """The TensorBoard directory of a stage (or the run's, with none)."""
        if not stage:
            return self.workdir.stage(layout.TENSORBOARD)
        return self.workdir.stage(layout.TENSORBOARD, layout.stage_name(stage))

    _figures = None  # the private folder figures are written to, while they are

    def figure(self, name):
        """The path figure ``name`` of the run is written to."""
        if self._figures is not None:
            return os.path.join(self._figures, layout.figure(name))
        return self.workdir.file(layout.figure(name))
