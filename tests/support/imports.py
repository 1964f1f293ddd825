"""The product's import graph, read from the source text (nothing is imported).

Every ``import`` of a product module, at any depth of the file, is an edge, so an import hidden
inside a function to dodge a cycle counts like any other. Used by the layout tests.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("artifacts", "serving", "spark_jobs")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path, package: str) -> list[str | tuple[str, str]]:
    """What ``path`` imports: module names, and (module, name) for each name of a from-import.

    ``package`` resolves relative imports.
    """
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            names += [(base, alias.name) for alias in node.names]
    return names


def graph(packages: Iterable[str] = PACKAGES) -> dict[str, set[str]]:
    """Module → the product modules it imports (a submodule named in a from-list is that module)."""
    modules = {module_name(p): p for top in packages for p in (ROOT / top).rglob("*.py")}
    edges: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for target in imported(path, package):
            if isinstance(target, tuple):  # from base import name: the submodule, else base
                base, attr = target
                target = f"{base}.{attr}" if f"{base}.{attr}" in modules else base
            if target in modules and target != name:
                edges[name].add(target)
    return edges


def external(packages: Iterable[str] = PACKAGES) -> dict[str, set[str]]:
    """Module → the top-level names of everything it imports (product or not)."""
    found: dict[str, set[str]] = {}
    for top in packages:
        for path in (ROOT / top).rglob("*.py"):
            name = module_name(path)
            package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
            tops = (t[0] if isinstance(t, tuple) else t for t in imported(path, package))
            found[name] = {top.split(".", 1)[0] for top in tops if top}
    return found


def cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as a closed path of module names, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state and (found := visit(start)):
            return found
    return None
