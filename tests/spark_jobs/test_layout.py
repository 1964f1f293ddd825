"""The spark_jobs house: imports run one way, and no module imports itself in a loop.

Read from the source text (nothing is imported): every ``import`` of a ``spark_jobs`` module,
at any depth of the file, is an edge, so an import hidden inside a function to dodge a cycle
counts like any other.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "spark_jobs"
JOBS = ("spark_jobs.train", "spark_jobs.predict", "spark_jobs.export.command")


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _graph() -> dict[str, set[str]]:
    modules = {_module(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                    base = f"{base}.{node.module}" if node.module else base
                # a submodule named in the list is that module; any other name is the base's
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                    for alias in node.names
                ]
            else:
                continue
            graph[name] |= {t for t in targets if t in modules and t != name}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_no_import_cycles():
    """A package's ``__init__`` importing its own modules is an edge down; one of them importing
    a name from the ``__init__`` back closes a cycle (what hidden imports used to dodge)."""
    graph = _graph()
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


@pytest.mark.parametrize(
    "shared",
    [
        "spark_jobs.settings",
        "spark_jobs.options",
        "spark_jobs.formats",
        "spark_jobs.destination",
        "spark_jobs.lineage",
        "spark_jobs.session",
        "spark_jobs.progress",
        "spark_jobs.errors",
        "spark_jobs.sources",
    ],
)
def test_shared_modules_import_no_job(shared):
    graph = _graph()
    mine = [name for name in graph if name == shared or name.startswith(shared + ".")]
    wrong = {(m, t) for m in mine for t in graph[m] if t.startswith(JOBS)}
    assert not wrong


def test_training_imports_neither_batch_scoring_nor_the_export_command():
    graph = _graph()
    training = [name for name in graph if name.startswith("spark_jobs.train")]
    other_jobs = ("spark_jobs.predict", "spark_jobs.export.command")
    assert not {(m, t) for m in training for t in graph[m] if t.startswith(other_jobs)}
