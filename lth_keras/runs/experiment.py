"""What every experiment command does around its procedure.

Open the run directory (refusing other flags), save the flags, choose the
strategy, run the procedure, and print the results table.
"""

import os
import shutil

import tensorflow as tf
from absl import flags

from lth_keras.pruning.masks import get_masks, masks_digest
from lth_keras.runs.flags import config_from_flags, define_flags, fail
from lth_keras.runs.results import format_table
from lth_keras.runs.workdir import ConfigMismatchError, Workdir, default_path
from lth_keras.training.distribute import is_chief, make_strategy

PROCEDURES = {}


def procedure(name):
    """Registers the driver class that runs experiment ``name``.

    A driver is constructed as ``Driver(config, workdir, strategy)`` (raising
    ValueError for bad input before any training) and ``run()`` returns the
    list of records, writing them with :func:`lth_keras.runs.write_results`.
    """

    def add(cls):
        PROCEDURES[name] = cls
        return cls

    return add


def command(name, config_cls, table_columns, key):
    """Defines the flags of ``config_cls`` and returns the absl ``main`` of the
    command that runs experiment ``name``: validate every flag before any
    work, then :func:`run`."""
    define_flags(config_cls)

    def main(argv):
        del argv
        try:
            config = config_from_flags(config_cls)
            config.validate()
        except ValueError as error:
            fail(f"{name}.py", error)
        run(name, config, flags.FLAGS, table_columns, key)

    return main


def run(name, config, flag_values, table_columns, key):
    """Runs experiment ``name`` for ``config``; prints and returns its records."""
    program = f"{name}.py"
    path = flag_values.workdir or default_path(name, config)
    if config.deterministic_ops:
        tf.config.experimental.enable_op_determinism()
    strategy = make_strategy(config.strategy, config.tpu)
    created = not os.path.exists(path)
    try:
        workdir = Workdir(path, config.to_dict(), is_chief=is_chief())
        driver = PROCEDURES[name](config, workdir, strategy)
    except (ConfigMismatchError, ValueError) as error:
        if created and os.path.isdir(path):
            shutil.rmtree(path)  # a run that never started leaves nothing behind
        fail(program, error)
    flagfile = os.path.join(workdir.path, "flags.txt")
    if not os.path.exists(flagfile):
        flag_values.append_flags_into_file(flagfile)
    print(f"{program}: run directory {workdir.path}")
    records = driver.run()
    model = getattr(driver, "model", None)
    if model is not None:
        # Workers of a multi-worker run print the same digest: they agree.
        print(f"{program}: final masks sha256 {masks_digest(get_masks(model))}")
    if not workdir.is_chief:
        shutil.rmtree(workdir.path, ignore_errors=True)
        return records
    print(format_table([{**r, "control": r.get("control") or "ticket"} for r in records],
                       table_columns))
    print(f"results: {os.path.join(workdir.path, 'results.json')}")
    return records
