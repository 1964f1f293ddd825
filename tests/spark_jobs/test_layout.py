"""The spark_jobs house: imports run one way, and no module imports itself in a loop.

Read from the source text (nothing is imported): every ``import`` of a ``spark_jobs`` module,
at any depth of the file, is an edge, so an import hidden inside a function to dodge a cycle
counts like any other.
"""

from __future__ import annotations

import pytest

from tests.support.imports import cycle
from tests.support.imports import graph as product_graph

JOBS = ("spark_jobs.train", "spark_jobs.predict", "spark_jobs.export.command")


def _graph() -> dict[str, set[str]]:
    return product_graph(("spark_jobs",))


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    return cycle(graph)


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
