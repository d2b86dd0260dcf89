"""absl flags from a run-configuration dataclass, one flag per field."""

import dataclasses
import os
import sys

from absl import flags

_DEFINE = {
    bool: flags.DEFINE_boolean,
    int: flags.DEFINE_integer,
    float: flags.DEFINE_float,
    str: flags.DEFINE_string,
}


def define_flags(config_cls):
    """Defines ``--<field>`` for every field of ``config_cls``, with its default."""
    for f in dataclasses.fields(config_cls):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        help_text = f.metadata.get("help", f.name)
        if f.type in ("list", list):
            flags.DEFINE_list(f.name, [str(v) for v in default], help_text)
        else:
            kind = f.type if isinstance(f.type, type) else {"bool": bool, "int": int,
                                                             "float": float, "str": str}[f.type]
            _DEFINE[kind](f.name, default, help_text)
    flags.DEFINE_string("workdir", "", "Run directory (default: runs/<experiment>_<config hash>).")


def config_from_flags(config_cls, values=None):
    """An instance of ``config_cls`` from parsed flags (list items converted)."""
    values = values or flags.FLAGS
    kwargs = {}
    for f in dataclasses.fields(config_cls):
        value = getattr(values, f.name)
        if f.type in ("list", list):
            item = f.metadata.get("item", str)
            try:
                value = [item(v) for v in value]
            except ValueError:
                raise ValueError(f"--{f.name}: expected a comma-separated list of "
                                 f"{item.__name__}, got {','.join(value)!r}.") from None
        kwargs[f.name] = value
    return config_cls(**kwargs)


def fail(program, message):
    """Prints one clear line for a bad flag and exits non-zero, before any work."""
    print(f"{program}: error: {message}", file=sys.stderr)
    sys.exit(2)


def parse_flags(argv):
    """absl's flag parsing, with a bad value reported in one line (absl's own
    parser prints the error and a usage hint), exit status 2."""
    try:
        return flags.FLAGS(argv)
    except flags.Error as error:
        fail(os.path.basename(argv[0]), error)
