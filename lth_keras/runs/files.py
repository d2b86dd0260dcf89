"""Files a run directory can trust: no links followed, atomic writes, digests, one writer.

- :func:`refuse_links` refuses a path inside a run directory if it, or any
  folder between the run directory and it, is a symbolic link (the run
  directory itself may be a link the user chose).
- :func:`replacing` hands out a fresh temporary file, created exclusively
  with a random name beside the target, and renames it over the target
  atomically once written: no fixed temporary name can be planted;
  :func:`staged` does the same for files other code writes by path (plots).
- :func:`sha256` hashes a file once per process while it is unchanged.
- :func:`hold` takes the run directory's exclusive lock for the life of the
  process (a second process is refused at once, told the holder's pid).
"""

import contextlib
import errno
import fcntl
import hashlib
import os
import shutil
import stat
import tempfile
import time

from lth_keras.runs import layout

# Files are created as ``open`` would create them (mkstemp alone makes them 0600).
_UMASK = os.umask(0)
os.umask(_UMASK)


class UnsafeLinkError(ValueError):
    """A symbolic link where a run directory keeps its own files."""

    def __init__(self, path):
        super().__init__(f"{path} is a symbolic link; lth_keras never follows links inside "
                         "a run directory; remove it.")
        self.path = path


class WorkdirBusyError(ValueError):
    """Another process holds the run directory's lock."""


def refuse_links(root, *names):
    """``root/names...``, refused if any step below ``root`` is a symbolic link."""
    path = root
    for name in names:
        for part in str(name).split("/"):
            path = os.path.join(path, part)
            if os.path.islink(path):
                raise UnsafeLinkError(path)
    return path


def first_link(root):
    """The first symbolic link found below ``root`` (None if there is none)."""
    for folder, dirs, files in os.walk(root):
        for name in sorted(dirs + files):
            if os.path.islink(os.path.join(folder, name)):
                return os.path.join(folder, name)
    return None


def suffix(name):
    """What a temporary file for ``name`` must end with (Keras wants
    ``.weights.h5``, NumPy would add ``.npz``): everything from the first dot."""
    return name[name.index("."):] if "." in name else ""


@contextlib.contextmanager
def replacing(path):
    """Yields a new temporary file beside ``path``; renames it over ``path`` when
    the block succeeds, removes it when it fails."""
    if os.path.islink(path):
        raise UnsafeLinkError(path)
    folder, name = os.path.split(path)
    fd, tmp = tempfile.mkstemp(dir=folder or ".", prefix=layout.TEMPORARY_PREFIX,
                               suffix=suffix(name))
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)
        os.close(fd)
        yield tmp
        os.replace(tmp, path)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(error, OSError) and not error.filename:
            # h5py's errors name no file: name the one being written (a full disk, ...).
            raise OSError(error.errno, error.strerror or str(error), path) from error
        raise


def write_bytes(path, data):
    """Writes ``path`` atomically, through an exclusively created temporary file."""
    with replacing(path) as tmp, open(tmp, "wb") as f:
        f.write(data)


@contextlib.contextmanager
def staged(folder, check=refuse_links):
    """Yields a fresh private folder inside ``folder`` for files that other
    code writes by path (figures); each file left in it then replaces its
    namesake in ``folder`` (``check(folder, name)`` refuses a link there)."""
    private = tempfile.mkdtemp(dir=folder, prefix=layout.TEMPORARY_PREFIX)
    try:
        yield private
        for name in sorted(os.listdir(private)):
            os.replace(os.path.join(private, name), check(folder, name))
    finally:
        shutil.rmtree(private, ignore_errors=True)


def is_temporary(name):
    return name.startswith(layout.TEMPORARY_PREFIX)


def remove_temporaries(folder):
    """Removes the temporaries a killed process left in ``folder`` (call only
    holding the run's lock: then no one else is writing them)."""
    with os.scandir(folder) as entries:
        left = [e for e in entries if is_temporary(e.name)]
    for entry in left:
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            os.unlink(entry.path)


# (path, inode, size, mtime) -> sha256: a file is hashed once while it is unchanged.
_DIGESTS = {}


def _signature(path):
    st = os.stat(path, follow_symlinks=False)
    return path, st.st_ino, st.st_size, st.st_mtime_ns


def sha256(path):
    """The SHA-256 (hex) of the file ``path``."""
    key = _signature(path)
    if key not in _DIGESTS:
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        _DIGESTS[key] = digest.hexdigest()
    return _DIGESTS[key]


# Realpath of a run directory -> [lock fd, holders]: one lock per process.
_HELD = {}


def hold(path):
    """Takes the exclusive lock of run directory ``path`` (shared within this
    process); returns its key for :func:`release`. Refuses, naming the
    holder's pid, when another process holds it."""
    key = os.path.realpath(path)
    if key in _HELD:
        _HELD[key][1] += 1
        return key
    lock = refuse_links(path, layout.LOCK)
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise UnsafeLinkError(lock) from None
        raise
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
        os.close(fd)  # a planted hard link or device: writing the pid would change it
        raise ValueError(f"{lock} is not a lock file lth_keras made (not a regular file of "
                         "one link); remove it.")
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        pid = _holder(fd)
        os.close(fd)
        raise WorkdirBusyError(f"--workdir: {path} is in use by another lth_keras process "
                               f"(pid {pid}); wait for it to end, or use another "
                               "--workdir.") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    _HELD[key] = [fd, 1]
    return key


def _holder(fd, patience=1.0):
    # The holder writes its pid just after it locks: wait a moment for it.
    deadline = time.monotonic() + patience
    while True:
        text = os.pread(fd, 32, 0).decode(errors="replace").strip()
        if text or time.monotonic() > deadline:
            return text or "unknown"
        time.sleep(0.02)


def release(key):
    """Gives back one hold of :func:`hold`; the lock goes with the last one."""
    held = _HELD.get(key)
    if held is None:
        return
    held[1] -= 1
    if held[1] == 0:
        del _HELD[key]
        os.close(held[0])
