"""The one registry helper: every name table that turns a command-line value
into the object it names (criteria, schedules, distributions, attacks,
corruptions, sanity checks, structured criteria, models, procedures)."""


class Registry(dict):
    """A name table: ``name -> object``, filled by the :meth:`register` decorator.

    Args:
      kind: what the names are (``"criterion"``, ``"model"``, ...), for errors.
    """

    def __init__(self, kind):
        super().__init__()
        self.kind = kind

    def add(self, name, value):
        """Adds ``value`` under ``name``; a name is registered once."""
        if name in self:
            raise ValueError(f"{self.kind}: {name!r} is already registered.")
        self[name] = value
        return value

    def register(self, name, value=None):
        """Decorator adding a class or function under ``name`` (a class also
        gets ``name`` as an attribute); ``value(obj)`` is stored in its place
        when given (an instance, a partial)."""

        def add(obj):
            self.add(name, obj if value is None else value(obj))
            if isinstance(obj, type):
                obj.name = name
            return obj

        return add

    def get(self, name, flag=None):
        """The object registered as ``name``; a ValueError naming ``flag`` (or
        the kind) and the accepted names otherwise."""
        if name not in self:
            where = f"--{flag}" if flag else self.kind
            raise ValueError(f"{where}: unknown {name!r}; expected one of {sorted(self)}.")
        return self[name]
