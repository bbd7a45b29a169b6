"""The import rules of ../shared/ARCHITECTURE.md, read from the source (docs/design.md):

- no import cycle in service/ (a sub-service never receives, nor imports, its parent);
- the lower layers (db, realtime, timers and the top-level helpers) import no domain package;
- a domain's modules import no gateway (api/, the app, the runtime), except its HTTP routes
  (``endpoints.py``), which are a gateway that lives beside its domain.
"""

from __future__ import annotations

import ast
from pathlib import Path

SERVICE = Path(__file__).resolve().parents[2] / "service"
LOWER = {
    "clock",
    "db",
    "errors",
    "hours",
    "shifts",
    "logtext",
    "metrics",
    "realtime",
    "security",
    "settings",
    "supervisor",
    "timers",
}
GATEWAYS = {"__main__", "api", "app", "demo", "pages", "runtime", "serving", "workers"}


def imports() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in sorted(SERVICE.rglob("*.py")):
        parts = path.relative_to(SERVICE.parent).with_suffix("").parts
        module = ".".join(parts).removesuffix(".__init__")
        found = graph.setdefault(module, set())
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if node.module.split(".")[0] == "service":
                    found.add(node.module)
    return graph


def layer(module: str) -> str:
    return module.split(".")[1] if "." in module else module


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for other in graph.get(module, ()):
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            component = []
            while (other := stack.pop()) != module:
                component.append(other)
            if component:
                found.append(sorted([module, *component]))

    for module in list(graph):
        if module not in index:
            visit(module)
    return found


def test_no_import_cycle() -> None:
    assert cycles(imports()) == []


def test_the_cycle_check_sees_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_lower_layers_import_no_domain() -> None:
    upward = [
        f"{module} -> {other}"
        for module, others in imports().items()
        if layer(module) in LOWER
        for other in sorted(others)
        if layer(other) not in LOWER
    ]
    assert upward == []


def test_domains_import_no_gateway() -> None:
    upward = [
        f"{module} -> {other}"
        for module, others in imports().items()
        if layer(module) not in LOWER | GATEWAYS and not module.endswith(".endpoints")
        for other in sorted(others)
        if layer(other) in GATEWAYS
    ]
    assert upward == []
