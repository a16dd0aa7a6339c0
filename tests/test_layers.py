"""The package's layers point down and its modules import in no circle (docs/architecture.md, "Layers").

Every `import` in every module of v2a_cli counts, at the top or inside a function; what only a type
checker reads (`if TYPE_CHECKING:`) does not, since it never runs. The declared table of loader modules
(`loaders.LOADER_MODULES`, imported by name) counts as imports of `v2a_cli.loaders`.
A module may import its own layer or the layers below it, never one above. A new module must be given a
layer here (the test names it otherwise).
"""

from __future__ import annotations

import ast
from pathlib import Path

import v2a_cli

PACKAGE = Path(v2a_cli.__file__).parent

# Bottom to top. A module's layer is the entry with the longest prefix matching its name.
LAYERS: list[tuple[str, ...]] = [
    ("version", "errors", "files", "notes", "progress", "device", "validation", "models_config", "registry", "distributed",
     "vocabulary"),
    ("media",),
    # models: networks and their loaders, knowing nothing of sources, timelines or commands
    ("embeddings", "audioldm", "sources", "evaluation.panns", "evaluation.vggish", "evaluation.wav2clip",
     "evaluation.checkpoints", "evaluation.frechet", "evaluation.scores", "evaluation.cache", "evaluation"),
    ("mapper",),  # the bridge reads CLIP, CLAP and the generator's text tower
    ("loaders",),  # load_model(kind): the table of the modules above reaches each of them
    # generation, stage by stage (docs/architecture.md): options and pure planning, the warm models,
    # the condition stage, the sampler, the producers and the write stage, the Python API on top
    ("generation.options", "generation.mixing", "generation.plan"),
    ("generation.models",),
    ("generation.detect",),
    ("generation.condition",),
    ("generation.sample",),
    ("generation.compose", "generation.interpolate", "generation.sidecar"),
    ("generation.batch",),
    ("generation.pipeline", "generation"),
    ("evaluation.evaluator", "training", "doctor"),
    ("web",),
    ("cli", "__main__"),
    ("", "testing"),  # the package's lazy top-level API (`v2a_cli.generate`, ...) and the test zoo
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}


def _type_checking_only(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"))


def _owner(name: str) -> str | None:
    """The module of ours that `name` (a module or a name inside one) refers to."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(name: str) -> set[str]:
    path = MODULES[name]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if _type_checking_only(child):
                for other in child.orelse:
                    visit(other)
                continue
            if isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    parts = package.split(".")[: len(package.split(".")) - (child.level - 1)]
                    base = ".".join(parts + ([base] if base else []))
                # `from package import module` depends on that module (as import-linter counts it);
                # `from module import name` on the module.
                for alias in child.names:
                    found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base)
            visit(child)

    visit(tree)
    if name == "v2a_cli.loaders":
        from v2a_cli.loaders import LOADER_MODULES

        found.update(LOADER_MODULES.values())
    owners = {_owner(item) for item in found if item.startswith("v2a_cli")}
    return {owner for owner in owners if owner and owner != name}


GRAPH = {name: imports_of(name) for name in MODULES}


def layer_of(name: str) -> int | None:
    short = name[len("v2a_cli."):] if name != "v2a_cli" else ""
    best: tuple[int, int] | None = None  # (prefix length, layer)
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if short == prefix or short.startswith(prefix + ".") or (prefix == "" and short == ""):
                if best is None or len(prefix) > best[0]:
                    best = (len(prefix), index)
    return None if best is None else best[1]


def test_every_module_has_a_layer():
    assert [name for name in MODULES if layer_of(name) is None] == []


def test_imports_point_down():
    upward = [f"{name} (layer {layer_of(name)}) imports {target} (layer {layer_of(target)})"
              for name, targets in sorted(GRAPH.items()) for target in sorted(targets)
              if layer_of(target) is not None and layer_of(name) is not None and layer_of(target) > layer_of(name)]
    assert upward == []


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in graph:
                    continue
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycles():
    assert cycles(GRAPH) == []


def test_the_checker_sees_imports_inside_functions_and_cycles():
    assert "v2a_cli.generation.detect" in GRAPH["v2a_cli.generation.condition"]  # imported inside a function
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
