"""What every experiment command does around its procedure.

``experiments/<name>.py`` is ``main = command(name)``: define the flags of the
procedure's configuration, validate every flag before any work, open the run
directory (refusing other flags), save the flags, choose the strategy, run
the procedure and print its table.
"""

import os
import shutil

from absl import flags

from lth_keras.procedures.base import PROCEDURES
from lth_keras.pruning.masks import get_masks, masks_digest
from lth_keras.runs import layout
from lth_keras.runs.flags import config_from_flags, define_flags, fail
from lth_keras.runs.results import format_table
from lth_keras.runs.workdir import ConfigMismatchError, Workdir


def command(name):
    """The absl ``main`` of the command that runs procedure ``name``."""
    procedure = PROCEDURES.get(name, "procedure")
    define_flags(procedure.config_class)

    def main(argv):
        del argv
        values = flags.FLAGS
        try:
            config = config_from_flags(procedure.config_class)
            config.validate()
            config.check_given({n for n in values if values[n].present})
        except ValueError as error:
            fail(f"{name}.py", error)
        run(procedure, config, values.workdir)

    return main


def run(procedure, config, workdir_flag=""):
    """Runs ``procedure`` for ``config``; prints and returns its records."""
    import tensorflow as tf

    from lth_keras.training.distribute import is_chief, make_strategy

    program = f"{procedure.name}.py"
    try:
        path = procedure.run_path(config, workdir_flag)
    except ValueError as error:
        fail(program, error)
    if getattr(config, "deterministic_ops", False):
        tf.config.experimental.enable_op_determinism()
    strategy = make_strategy(getattr(config, "strategy", "default"), getattr(config, "tpu", ""))
    created = not os.path.exists(path)
    try:
        workdir = Workdir(path, config.to_dict(), is_chief=is_chief())
        driver = procedure(config, workdir, strategy)
    except (ConfigMismatchError, ValueError) as error:
        if created and os.path.isdir(path):
            shutil.rmtree(path)  # a run that never started leaves nothing behind
        fail(program, f"{error}{procedure.mismatch_hint}"
             if isinstance(error, ConfigMismatchError) else error)
    flagfile = os.path.join(workdir.path, layout.FLAGS)
    if not os.path.exists(flagfile):
        flags.FLAGS.append_flags_into_file(flagfile)
    print(f"{program}: {driver.describe()}")
    records = driver.run()
    model = getattr(driver, "model", None)
    if model is not None and get_masks(model):
        # Workers of a multi-worker run print the same digest: they agree.
        print(f"{program}: final masks sha256 {masks_digest(get_masks(model))}")
    if not workdir.is_chief:
        shutil.rmtree(workdir.path, ignore_errors=True)
        return records
    print(format_table(driver.table_rows(records), procedure.table))
    print(f"results: {os.path.join(workdir.path, layout.RESULTS)}")
    return records
