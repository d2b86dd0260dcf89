"""The shape of the library, checked by reading its source with ``ast``:
imports flow one way (no circle), no module imports another's private name,
files stay small, and only the run layout spells a run directory's paths."""

import ast
import os
import re

import pytest

ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lth_keras")
MAX_LINES = 400
# Names of a run directory that only lth_keras/runs/layout.py may spell.
RUN_PATHS = re.compile(r"""["'](record\.json|config\.json|results\.json|masks\.npz|flags\.txt)["']"""
                       r"""|\.weights\.h5|(round|seed|sparsity|density)_\{""")


def _modules():
    out = {}
    for folder, _, files in os.walk(ROOT):
        for f in files:
            if f.endswith(".py"):
                path = os.path.join(folder, f)
                rel = os.path.relpath(path, os.path.dirname(ROOT))[:-3].replace(os.sep, ".")
                out[rel.removesuffix(".__init__")] = path
    return out


MODULES = _modules()


def _imports(name, path):
    """``(module imported, names taken from it, line)`` of every import in ``path``."""
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    package = name if path.endswith("__init__.py") else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, [], node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                yield (sub, [], node.lineno) if sub in MODULES else (base, [alias.name], node.lineno)


def test_no_module_imports_another_modules_private_name():
    offences = []
    for name, path in MODULES.items():
        aliases = {}
        for module, names, line in _imports(name, path):
            if module.startswith("lth_keras") and module != name:
                offences += [f"{path}:{line} imports {module}.{n}" for n in names if n.startswith("_")]
                aliases[module.rpartition(".")[2]] = module
        with open(path) as f:
            tree = ast.parse(f.read())
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in aliases and node.attr.startswith("_")
                    and not node.attr.startswith("__")):
                offences.append(f"{path}:{node.lineno} uses {aliases[node.value.id]}.{node.attr}")
    assert not offences, "\n".join(offences)


def test_imports_have_no_circle():
    graph = {name: {m for m, _, _ in _imports(name, path) if m in MODULES and m != name}
             for name, path in MODULES.items()}
    # Package __init__ files re-export their own modules: an edge into a
    # package's own children is not a dependency of the children on it.
    for name in graph:
        if MODULES[name].endswith("__init__.py"):
            graph[name] = {m for m in graph[name] if not m.startswith(name + ".")}
    state, cycles = {}, []

    def visit(node, stack):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, "\n".join(cycles)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_is_small(name):
    with open(MODULES[name]) as f:
        lines = sum(1 for _ in f)
    assert lines <= MAX_LINES, f"{MODULES[name]} has {lines} lines (at most {MAX_LINES})"


def _docstring_lines(tree):
    lines = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)):
            lines.update(range(node.lineno, node.end_lineno + 1))
    return lines


def test_only_the_layout_spells_run_paths():
    offences = []
    for name, path in MODULES.items():
        if name == "lth_keras.runs.layout":
            continue
        with open(path) as f:
            text = f.read()
        prose = _docstring_lines(ast.parse(text))
        for i, line in enumerate(text.splitlines(), 1):
            if i not in prose and RUN_PATHS.search(line.split("#")[0]):
                offences.append(f"{path}:{i}: {line.strip()}")
    assert not offences, "\n".join(offences)
