"""Run directories, configurations, flags and the shared results writer."""

from lth_keras.runs.config import RunConfig
from lth_keras.runs.results import format_table, read_results, write_results
from lth_keras.runs.workdir import ConfigMismatchError, Workdir, default_path
