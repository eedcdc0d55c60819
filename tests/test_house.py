"""The house stays arranged by layer: the longest chain of imports between the project's
modules, notebooks and benchmarks is at most 11 modules, no module is over 300 lines and
no function over 60. Imports for type checkers only (`if TYPE_CHECKING:`) do not run and
are not counted.

The longest chain runs down the layers once: the command line, a tool, the Label Studio
backend, the round trip it is built on, the anomaly maps, the stage that loads a scorer, the
scorer registry, a scorer, its network's features, the ResNet, the errors
(docs/development.md). It was 7 before the scorers had a registry and DRAEM a training
loop of its own, and 10 before the backend; a chain longer than 11 means a layer is
imported sideways."""

import ast
import json
from functools import cache

from asal.project import PROJECT_ROOT

LEVELS, MODULE_LINES, FUNCTION_LINES = 11, 300, 60


def _modules() -> dict[str, str]:
    mods = {}
    for path in sorted((PROJECT_ROOT / "asal").rglob("*.py")):
        name = ".".join(path.relative_to(PROJECT_ROOT).with_suffix("").parts)
        mods[name.removesuffix(".__init__")] = path.read_text()
    return mods


def _sources(mods: dict[str, str]) -> dict[str, str]:
    sources = dict(mods)
    for path in sorted((PROJECT_ROOT / "benchmarks").glob("*.py")):
        sources[f"benchmarks/{path.name}"] = path.read_text()
    for path in sorted((PROJECT_ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        sources[f"notebooks/{path.name}"] = "\n".join(
            "".join(c["source"]) for c in cells if c["cell_type"] == "code")
    return sources


def _imports(tree: ast.AST, name: str, mods) -> set[str]:
    typing_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                   and "TYPE_CHECKING" in ast.unparse(node.test) for n in ast.walk(node)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    edges = set()
    for target in found:
        while target and target not in mods:
            target = target.rpartition(".")[0]
        if target and target not in (name, "asal"):
            edges.add(target)
    return edges


def test_the_import_graph_is_at_most_seven_levels_deep():
    mods = _modules()
    graph = {n: _imports(ast.parse(s), n, mods) for n, s in _sources(mods).items()}

    @cache
    def depth(n):
        return 1 + max((depth(d) for d in graph[n]), default=0)

    deepest = max(graph, key=depth)
    chain = [deepest]
    while graph[chain[-1]]:
        chain.append(max(graph[chain[-1]], key=depth))
    assert depth(deepest) <= LEVELS, " -> ".join(chain)


def test_no_module_or_function_is_too_long():
    long_modules, long_functions = [], []
    for name, source in _modules().items():
        if len(source.splitlines()) > MODULE_LINES:
            long_modules.append(name)
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) \
                    and node.end_lineno - node.lineno + 1 > FUNCTION_LINES:
                long_functions.append(f"{name}.{node.name}")
    assert long_modules == [] and long_functions == []


def test_every_module_imports():
    """A name moved between modules and imported under its old address fails here, not in
    a notebook or a workflow job."""
    import importlib

    for name in _modules():
        if name != "asal.__main__":
            importlib.import_module(name)


def test_no_two_packages_import_each_other():
    # a layer imports the ones below it only: data, config, models, stages, labelstudio and
    # tools never import back into a package that imports them
    mods = _modules()
    package = {n: n.split(".")[1] if n.count(".") else n for n in mods}
    uses: dict[str, set[str]] = {}
    for name, source in mods.items():
        for target in _imports(ast.parse(source), name, mods):
            if package[target] != package[name]:
                uses.setdefault(package[name], set()).add(package[target])
    both = sorted({tuple(sorted((a, b))) for a, used in uses.items() for b in used
                   if a in uses.get(b, set()) and a != b})
    assert both == [], both
