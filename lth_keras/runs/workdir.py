"""Run directories that explain themselves and resume by rerunning the command.

A run directory holds ``config.json`` (the full configuration, seeds
included), the lock of the one process that writes it, and one folder per
stage of work (``round_03/``, ``round_03/reinit/``). A stage is finished when
its ``record.json`` exists; it is written last and atomically, and holds the
SHA-256 of every file of its folder, checked before the stage is trusted. So
a run killed at any moment resumes at the first unfinished stage, finished
stages are never redone or overwritten, and a changed or unreadable file of
a finished stage is named (with the stage to delete to redo it), never used.

Every file is written through a fresh temporary file and an atomic rename,
no symbolic link inside a run directory is followed (:mod:`lth_keras.runs.files`),
and ``config.json`` is written only once the run's setup has succeeded
(:meth:`Workdir.commit`).
"""

import contextlib
import json
import math
import os
import shutil
import tempfile
import weakref
import zipfile

import numpy as np

from lth_keras.pruning.masks import load_masks, save_masks
from lth_keras.runs import files, layout
from lth_keras.runs.files import UnsafeLinkError, WorkdirBusyError  # noqa: F401 (the run's errors)

# What reading a truncated or foreign file raises (h5: OSError; npz: BadZipFile, EOFError).
UNREADABLE = (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile)


class ConfigMismatchError(ValueError):
    """The run directory holds a run with a different configuration."""


class StageError(RuntimeError):
    """A file of a stage is missing, changed since the stage finished, or unreadable."""


def write_text(path, text):
    """Writes ``path`` atomically: a fresh temporary file, then a rename."""
    files.write_bytes(path, text.encode("utf-8"))


def strict(obj):
    """``obj`` with every non-finite float replaced by None: JSON has no NaN or
    Infinity, and strict parsers refuse the tokens Python would write."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: strict(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [strict(v) for v in obj]
    return obj


def write_json(path, obj):
    write_text(path, json.dumps(strict(obj), indent=2, sort_keys=False, allow_nan=False) + "\n")


def read_json(path):
    with open(path) as f:
        return json.load(f)


def default_path(experiment, config, root="runs"):
    """``runs/<experiment>_<config hash>``."""
    return os.path.join(root, f"{experiment}_{config.digest()}")


def _make_directory(path):
    """Makes the run directory; True if this call created it."""
    if os.path.lexists(path) and not os.path.isdir(path):
        raise ValueError(f"--workdir: {path} is not a directory.")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    try:
        os.mkdir(path)
        return True
    except FileExistsError:
        if os.path.isdir(path):
            return False
        raise


class Workdir:
    """A run directory bound to one configuration, written by one process.

    Args:
      path: the directory; created if missing.
      config: the run's configuration dict, compared with a saved one.
      is_chief: only the chief of a multi-worker run writes ``path`` (and
        holds its lock); other workers write to a scratch directory of their own.
      commit: write ``config.json`` at once; ``False`` leaves it to
        :meth:`commit`, once the run's setup has succeeded.
    """

    def __init__(self, path, config, is_chief=True, commit=True):
        self._attach(path if is_chief else tempfile.mkdtemp(prefix="lth_keras_worker_"), config)
        self.is_chief = is_chief
        self.created = not is_chief
        try:
            if is_chief:
                self.created = _make_directory(path)
                self._release = weakref.finalize(self, files.release, files.hold(path))
            saved = self._saved_config("workdir")
            if saved is not None:
                differ = sorted(k for k in set(saved) | set(config)
                                if saved.get(k) != config.get(k))
                if differ:
                    details = ", ".join(f"--{k}={saved.get(k)!r} (now {config.get(k)!r})"
                                        for k in differ)
                    raise ConfigMismatchError(
                        f"--workdir: {path} holds a run with other flags: {details}. "
                        "Use another --workdir, or the same flags to resume it.")
            elif self._holds_stages():
                raise ValueError(f"--workdir: {path} holds stages but no {layout.CONFIG}: not a "
                                 "run lth_keras can resume; use another --workdir.")
            files.remove_temporaries(self.path)
            if commit:
                self.commit()
        except BaseException:
            self.discard()
            raise

    def _attach(self, path, config):
        self.path, self.config = path, config
        self.is_chief, self.created, self._release = True, False, None

    @classmethod
    def existing(cls, path, flag):
        """Another run's directory, read through its own ``config.json`` (so
        nothing is written to it, and it is not locked); a ValueError naming
        ``flag`` if it is none."""
        if not os.path.isfile(os.path.join(path, layout.CONFIG)):
            raise ValueError(f"--{flag}: {path!r} is not a run directory (no {layout.CONFIG}).")
        view = cls.__new__(cls)
        view._attach(path, None)
        view.config = view._saved_config(flag)
        return view

    def _saved_config(self, flag):
        """The saved configuration (None if there is none yet); refuses links."""
        link = files.first_link(self.path)
        if link is not None:
            raise UnsafeLinkError(link)
        saved = self._where(layout.CONFIG)
        if not os.path.exists(saved):
            return None
        try:
            config = read_json(saved)
        except ValueError as error:
            raise ValueError(f"--{flag}: {saved} is not valid JSON ({error}); restore it, "
                             f"or use another --{flag}.") from None
        if not isinstance(config, dict):
            raise ValueError(f"--{flag}: {saved} holds a {type(config).__name__}, not a run "
                             f"configuration (a JSON object); restore it, or use another --{flag}.")
        return config

    def _holds_stages(self):
        with os.scandir(self.path) as entries:
            return any(e.name == layout.RECORD or (
                e.is_dir(follow_symlinks=False) and e.name not in layout.NOT_STAGES
                and not files.is_temporary(e.name)) for e in entries)

    def commit(self):
        """Writes ``config.json`` unless it is there: the directory is now a run."""
        saved = self._where(layout.CONFIG)
        if not os.path.exists(saved):
            write_json(saved, self.config)

    def close(self):
        """Lets go of the run directory's lock (also done when the object goes)."""
        if self._release is not None:
            self._release()

    def discard(self):
        """Removes the directory if this object created it (a run that never
        started leaves nothing behind); lets go of the lock. Without the lock
        only an empty directory goes: another process may be holding it."""
        holding = not self.is_chief or (self._release is not None and self._release.alive)
        if self.created and os.path.isdir(self.path):
            if holding:
                shutil.rmtree(self.path, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    os.rmdir(self.path)
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # Paths ------------------------------------------------------------------

    def _where(self, name, *parts):
        """The path of ``name`` of stage ``parts``, refused if a link is on the way."""
        return files.refuse_links(self.path, *parts, name)

    def file(self, name, *parts):
        """The path of file ``name`` of the run (``parts``: of that stage, created)."""
        return files.refuse_links(self.stage(*parts), name)

    def has(self, name, *parts):
        return os.path.exists(self._where(name, *parts))

    def stage(self, *parts):
        """The directory of a stage of work, created on demand (never through a link)."""
        path = self.path
        for part in parts:
            path = files.refuse_links(path, part)
            os.makedirs(path, exist_ok=True)
        return path

    def staging(self):
        """A fresh private folder for files that other code writes by path
        (figures); each file left in it then replaces its namesake in the run
        directory, atomically."""
        return files.staged(self.path, lambda folder, name: self.file(name))

    # Stages -----------------------------------------------------------------

    def _stage_error(self, parts, name, what):
        folder = os.path.join(self.path, *parts)
        return StageError(f"stage {'/'.join(parts) or '.'} of {self.path}: "
                          f"{os.path.join(folder, name)} {what}; delete {folder} to redo "
                          "that stage.")

    def _trusted(self, parts):
        """The record of stage ``parts`` once its files are checked against the
        digests it holds (None if the stage is unfinished)."""
        if not self.has(layout.RECORD, *parts):
            return None
        record = self._load(read_json, layout.RECORD, parts)
        if not isinstance(record, dict):
            raise self._stage_error(parts, layout.RECORD,
                                    f"holds a {type(record).__name__}, not a stage record")
        digests = record.get("files") or {}  # none in records older than the digests
        for name, digest in sorted(digests.items()):
            path = self._where(name, *parts)
            if not os.path.isfile(path):
                raise self._stage_error(parts, name, "is missing")
            if files.sha256(path) != digest:
                raise self._stage_error(parts, name, "is not the file the stage finished with "
                                                     "(its SHA-256 differs)")
        return record

    def _load(self, loader, name, parts, errors=UNREADABLE):
        """``loader(path)`` of file ``name`` of a stage checked first if finished;
        an unreadable file is a StageError naming the stage and file."""
        path = self._where(name, *parts)
        if name != layout.RECORD:
            self._trusted(parts)
        try:
            return loader(path)
        except errors as error:
            text = str(error).splitlines()[0] if str(error) else ""
            raise self._stage_error(parts, name, f"cannot be read ({type(error).__name__}: "
                                                 f"{text})") from error

    def finished(self, *parts):
        return self._trusted(parts) is not None

    def record(self, *parts):
        record = self._trusted(parts)
        if record is None:
            raise self._stage_error(parts, layout.RECORD, "is missing")
        return {k: v for k, v in record.items() if k != "files"}

    def finish(self, record, *parts):
        """Marks a stage finished by writing its record (last, atomically), with
        the SHA-256 of every file of its folder under ``"files"``."""
        folder = self.stage(*parts)
        files.remove_temporaries(folder)  # a killed process's, never digested
        digests = {}
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
        for entry in entries:
            if entry.is_symlink():
                raise UnsafeLinkError(entry.path)
            if entry.name != layout.RECORD and entry.is_file():
                digests[entry.name] = files.sha256(entry.path)
        write_json(files.refuse_links(folder, layout.RECORD), {**record, "files": digests})

    # Files ------------------------------------------------------------------

    def save_weights(self, model, name, *parts):
        with files.replacing(self.file(layout.weights(name), *parts)) as tmp:
            model.save_weights(tmp)

    def load_weights(self, model, name, *parts):
        # A weights file that does not fit the model stays a ValueError.
        self._load(model.load_weights, layout.weights(name), parts, errors=(OSError,))

    def save_masks(self, masks, *parts):
        with files.replacing(self.file(layout.MASKS, *parts)) as tmp:
            save_masks(masks, tmp)

    def load_masks(self, *parts):
        return self._load(load_masks, layout.MASKS, parts)

    def save_arrays(self, arrays, name, *parts):
        """Saves a list of arrays (``np.savez`` order) or a dict of named arrays."""
        with files.replacing(self.file(layout.arrays(name), *parts)) as tmp:
            if isinstance(arrays, dict):
                np.savez(tmp, **arrays)
            else:
                np.savez(tmp, *arrays)

    def load_arrays(self, name, *parts):
        def arrays(path):
            with np.load(path) as f:
                return [f[f"arr_{i}"] for i in range(len(f.files))]
        return self._load(arrays, layout.arrays(name), parts)

    def save_json(self, obj, name, *parts):
        write_json(self.file(name, *parts), obj)

    def load_json(self, name, *parts):
        return self._load(read_json, name, parts)

    def save_text(self, text, name, *parts):
        write_text(self.file(name, *parts), text)
