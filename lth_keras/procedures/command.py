"""What every experiment command does around its procedure.

``experiments/<name>.py`` is ``main = command(name)``: define the flags of the
procedure's configuration, validate every flag before any work, open the run
directory (locked, refusing other flags), set the procedure up, and only then
save the configuration and the flags, choose the strategy, run the procedure
and print its table. Whatever goes wrong with the input, the run directory or
a stage's files is one line (exit status 2); a run directory this command
created is removed again if the run never started.
"""

import os
import shutil

from absl import flags

from lth_keras.procedures.base import PROCEDURES
from lth_keras.pruning.masks import get_masks, masks_digest
from lth_keras.runs import layout
from lth_keras.runs.flags import config_from_flags, define_flags, fail
from lth_keras.runs.results import format_table
from lth_keras.runs.workdir import ConfigMismatchError, StageError, UnsafeLinkError, Workdir


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
        except (ValueError, OverflowError) as error:
            fail(f"{name}.py", error)
        run(procedure, config, values.workdir)

    return main


def _inside(filename, path):
    if not filename:
        return False
    filename, path = os.path.abspath(os.fsdecode(filename)), os.path.abspath(path)
    return os.path.commonpath([filename, path]) == path or path.startswith(filename + os.sep)


def problem(error, path, procedure):
    """The one line for ``error`` (None if it is not a user's problem but a bug).
    The one place an OSError on the run directory becomes a line naming --workdir."""
    if isinstance(error, ConfigMismatchError):
        return f"{error}{procedure.mismatch_hint}"
    if isinstance(error, OSError):
        what = error.strerror or str(error)
        if _inside(error.filename, path) or _inside(error.filename2, path):
            return f"--workdir: cannot use {path}: {what} ({error.filename})"
        return f"{what}: {error.filename}" if error.filename else what
    if isinstance(error, (ValueError, OverflowError, StageError)):
        return str(error)
    return None


def run(procedure, config, workdir_flag=""):
    """Runs ``procedure`` for ``config``; prints and returns its records."""
    import tensorflow as tf

    from lth_keras.training.distribute import is_chief, make_strategy

    program = f"{procedure.name}.py"
    path = workdir_flag
    workdir = None
    try:
        path = procedure.run_path(config, workdir_flag)
        if getattr(config, "deterministic_ops", False):
            tf.config.experimental.enable_op_determinism()
        strategy = make_strategy(getattr(config, "strategy", "default"), getattr(config, "tpu", ""))
        workdir = Workdir(path, config.to_dict(), is_chief=is_chief(), commit=False)
        driver = procedure(config, workdir, strategy)
        # Only now is the directory a run: its configuration, then its flags.
        workdir.commit()
        if not workdir.has(layout.FLAGS):
            workdir.save_text(flags.FLAGS.flags_into_string(), layout.FLAGS)
    except BaseException as error:
        if workdir is not None:
            workdir.discard()  # a run that never started leaves nothing behind
        line = problem(error, path, procedure) if isinstance(error, Exception) else None
        if line is None:
            raise
        fail(program, line)
    print(f"{program}: {driver.describe()}")
    try:
        records = driver.run()
    except (OSError, UnsafeLinkError, StageError) as error:
        # Once work has started, only the run directory's own troubles are one line.
        line = problem(error, workdir.path, procedure)
        if isinstance(error, OSError) and not line.startswith("--workdir"):
            raise
        fail(program, line)
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
