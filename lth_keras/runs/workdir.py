"""Run directories that explain themselves and resume by rerunning the command.

A run directory holds ``config.json`` (the full configuration, seeds
included) and one folder per stage of work (``round_03/``, ``round_03/reinit/``).
A stage is finished when its ``record.json`` exists; it is written last and
atomically, so a run killed at any moment resumes at the first unfinished
stage, and finished stages are never redone or overwritten.
"""

import json
import os
import tempfile

import numpy as np

from lth_keras.pruning.masks import load_masks, save_masks
from lth_keras.runs import layout


class ConfigMismatchError(ValueError):
    """The run directory holds a run with a different configuration."""


def write_text(path, text):
    """Writes ``path`` atomically: a temporary file, then a rename."""
    tmp = f"{path}.tmp"
    with open(tmp, "w", newline="") as f:
        f.write(text)
    os.replace(tmp, path)


def write_json(path, obj):
    write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def read_json(path):
    with open(path) as f:
        return json.load(f)


def default_path(experiment, config, root="runs"):
    """``runs/<experiment>_<config hash>``."""
    return os.path.join(root, f"{experiment}_{config.digest()}")


class Workdir:
    """A run directory bound to one configuration.

    Args:
      path: the directory; created if missing.
      config: the run's configuration dict, compared with a saved one.
      is_chief: only the chief of a multi-worker run writes ``path``; other
        workers write to a scratch directory of their own.
    """

    def __init__(self, path, config, is_chief=True):
        self.is_chief = is_chief
        self.path = path if is_chief else tempfile.mkdtemp(prefix="lth_keras_worker_")
        self.config = config
        saved = os.path.join(self.path, layout.CONFIG)
        if os.path.exists(saved):
            old = read_json(saved)
            differ = sorted(k for k in set(old) | set(config) if old.get(k) != config.get(k))
            if differ:
                details = ", ".join(f"--{k}={old.get(k)!r} (now {config.get(k)!r})" for k in differ)
                raise ConfigMismatchError(
                    f"--workdir: {path} holds a run with other flags: {details}. "
                    "Use another --workdir, or the same flags to resume it."
                )
        else:
            os.makedirs(self.path, exist_ok=True)
            write_json(saved, config)

    @classmethod
    def existing(cls, path, flag):
        """Another run's directory, read through its own ``config.json`` (so
        nothing is written to it); a ValueError naming ``flag`` if it is none."""
        saved = os.path.join(path, layout.CONFIG)
        if not os.path.isfile(saved):
            raise ValueError(f"--{flag}: {path!r} is not a run directory (no {layout.CONFIG}).")
        return cls(path, read_json(saved))

    def file(self, name, *parts):
        """The path of file ``name`` of the run (``parts``: of that stage, created)."""
        return os.path.join(self.stage(*parts) if parts else self.path, name)

    def has(self, name, *parts):
        return os.path.exists(os.path.join(self.path, *parts, name))

    def stage(self, *parts):
        """The directory of a stage of work, created on demand."""
        path = os.path.join(self.path, *parts)
        os.makedirs(path, exist_ok=True)
        return path

    def finished(self, *parts):
        return self.has(layout.RECORD, *parts)

    def record(self, *parts):
        return read_json(os.path.join(self.path, *parts, layout.RECORD))

    def finish(self, record, *parts):
        """Marks a stage finished by writing its record (last, atomically)."""
        write_json(self.file(layout.RECORD, *parts), record)

    def save_weights(self, model, name, *parts):
        path = self.file(layout.weights(name), *parts)
        tmp = self.file(layout.weights(f"tmp_{name}"), *parts)
        model.save_weights(tmp)
        os.replace(tmp, path)

    def load_weights(self, model, name, *parts):
        model.load_weights(os.path.join(self.path, *parts, layout.weights(name)))

    def save_masks(self, masks, *parts):
        path = self.file(layout.MASKS, *parts)
        tmp = self.file(f"tmp_{layout.MASKS}", *parts)
        save_masks(masks, tmp)
        os.replace(tmp, path)

    def load_masks(self, *parts):
        return load_masks(os.path.join(self.path, *parts, layout.MASKS))

    def save_arrays(self, arrays, name, *parts):
        """Saves a list of arrays (``np.savez`` order) or a dict of named arrays."""
        path = self.file(layout.arrays(name), *parts)
        tmp = self.file(layout.arrays(f"tmp_{name}"), *parts)
        if isinstance(arrays, dict):
            np.savez(tmp, **arrays)
        else:
            np.savez(tmp, *arrays)
        os.replace(tmp, path)

    def load_arrays(self, name, *parts):
        with np.load(os.path.join(self.path, *parts, layout.arrays(name))) as f:
            return [f[f"arr_{i}"] for i in range(len(f.files))]

    def save_json(self, obj, name, *parts):
        write_json(self.file(name, *parts), obj)

    def load_json(self, name, *parts):
        return read_json(os.path.join(self.path, *parts, name))
