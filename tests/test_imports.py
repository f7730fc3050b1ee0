"""The package's modules import one way: no cycle among keras_fer.* and its command line
(cli/, installed as keras_fer.cli), counting imports inside functions too — a function-level
import hides a cycle from Python's start-up, not from the reader."""

import ast

from conftest import ROOT

# Where each part of the package lives in the checkout (pyproject.toml's package-dir).
PACKAGE_DIRS = {"keras_fer": ROOT / "keras_fer", "keras_fer.cli": ROOT / "cli"}


def package_modules():
    """{module name: path} of every .py file of the package."""
    modules = {}
    for package, folder in PACKAGE_DIRS.items():
        for path in sorted(folder.rglob("*.py")):
            parts = path.relative_to(folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join((package, *parts))] = path
    return modules


def imported_modules(name, path, modules):
    """The package modules that module `name` imports anywhere in its code. `from P import x`
    is an import of P.x where that is a module, else of P (x is a name P defines). Importing a
    submodule also runs its parent packages' __init__, but that order is Python's own and
    cannot form a cycle by itself, so only the modules named are counted."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package, up level - 1 parents
                anchor = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                       for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:  # its package module, "" outside the package
                target = target.rpartition(".")[0]
            if target:
                found.add(target)
    return found


def import_graph():
    modules = package_modules()
    return {name: imported_modules(name, path, modules) for name, path in modules.items()}


def tangles(graph):
    """The strongly connected components of `graph` that hold a cycle (Tarjan's algorithm):
    sets of modules each of which imports, directly or not, every other."""
    index, low, stack, on_stack, components = {}, {}, [], set(), []

    def connect(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                connect(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph[node]:
                components.append(component)

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return components


def cycles(graph):
    """One cycle (a list of modules, first repeated last) through each tangle of `graph`."""
    return [path_back(graph, component) for component in tangles(graph)]


def path_back(graph, component):
    """The shortest cycle from the component's first module (by name) back to itself."""
    start = min(component)
    paths, seen = [[start]], set()
    while paths:
        path = paths.pop(0)
        for successor in sorted(graph[path[-1]] & component):
            if successor == start:
                return path + [start]
            if successor not in seen:
                seen.add(successor)
                paths.append(path + [successor])
    raise AssertionError(f"no cycle through {component}")


def test_the_cycle_finder_names_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e"}}
    assert sorted(cycles(graph)) == [["a", "b", "c", "a"], ["e", "e"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_graph_sees_function_level_and_relative_imports(tmp_path):
    (tmp_path / "m.py").write_text("import numpy\n\ndef f():\n    from . import n\n    import keras_fer.data.pack\n")
    modules = {"keras_fer.m": tmp_path / "m.py", "keras_fer.n": None, "keras_fer.data": None,
               "keras_fer.data.pack": None, "keras_fer": None}
    found = imported_modules("keras_fer.m", tmp_path / "m.py", modules)
    assert found == {"keras_fer.n", "keras_fer.data.pack"}


def test_the_package_has_no_import_cycle():
    graph = import_graph()
    assert {"keras_fer", "keras_fer.cli.main", "keras_fer.zoo", "keras_fer.model_io"} <= set(graph)
    assert "keras_fer.zoo" in graph["keras_fer.model_io"]  # the graph does see imports
    found = tangles(graph)
    assert not found, "import cycles:\n" + "\n".join(
        f"{' -> '.join(path_back(graph, tangle))}   (all modules in cycles with it: {', '.join(sorted(tangle))})"
        for tangle in found)
