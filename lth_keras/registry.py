"""Registries that turn a command-line value into the object it names."""


def registrar(table):
    """Returns ``register(name)``: a decorator that adds a class or function to
    ``table`` under the flag value ``name`` and records the name on it."""

    def register(name):
        def add(obj):
            table[name] = obj
            obj.name = name
            return obj

        return add

    return register
