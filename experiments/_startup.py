"""Imported first by every experiment: repo on the path, a quiet TensorFlow.

TensorFlow's C++ start-up notices (oneDNN, CUDA probing) go to stderr before
any log level applies; they are held back so that a bad flag is reported in
one clear line, and replayed only if the import itself fails.
"""

import os
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

with tempfile.TemporaryFile(mode="w+") as _held:
    _stderr = os.dup(2)
    sys.stderr.flush()
    os.dup2(_held.fileno(), 2)
    try:
        import tensorflow  # noqa: F401
        import keras  # noqa: F401
    except BaseException:
        os.dup2(_stderr, 2)
        _held.seek(0)
        sys.stderr.write(_held.read())
        raise
    finally:
        os.dup2(_stderr, 2)
        os.close(_stderr)
