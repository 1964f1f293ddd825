"""The house: imports between the three packages run one way, and nothing imports in a loop.

``spark_jobs → artifacts ← serving``: the artifact format and its runtime know neither the
server nor Spark; the server never imports Spark or the jobs; the jobs never import the
server. Read from the source text (:mod:`tests.support.imports`), so an import hidden inside
a function counts like any other. The finer rules of ``spark_jobs`` are in
``tests/spark_jobs/test_layout.py``; docs/architecture.md draws the picture.
"""

from __future__ import annotations

import ast

import pytest

from tests.support import imports

#: What each package must never import (product packages and the frameworks they stand for).
FORBIDDEN = {
    "artifacts": {"serving", "spark_jobs", "pyspark", "flask", "gunicorn", "werkzeug"},
    "serving": {"spark_jobs", "pyspark"},
    "spark_jobs": {"serving", "flask", "gunicorn"},
}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_run_one_way(package):
    wrong = {
        (module, sorted(targets & FORBIDDEN[package]))
        for module, targets in imports.external((package,)).items()
        if targets & FORBIDDEN[package]
    }
    assert not wrong, wrong


def test_no_import_cycles_in_the_product():
    edges = imports.graph()
    assert imports.cycle(edges) is None, " -> ".join(imports.cycle(edges) or [])


def test_the_reader_sees_a_cycle_and_a_hidden_import(tmp_path, monkeypatch):
    """The check itself: a loop through an import inside a function is found."""
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from . import b\n")
    (package / "b.py").write_text("def f():\n    from .a import x\n")
    monkeypatch.setattr(imports, "ROOT", tmp_path)
    assert imports.cycle(imports.graph(("pkg",))) == ["pkg.a", "pkg.b", "pkg.a"]


def test_tests_and_bench_share_support_not_test_modules():
    """No module imports a ``test_*.py`` module; ``tests/support/`` imports no other test code."""
    edges = imports.graph(("tests", "bench"))
    into_tests = {
        (module, target)
        for module, targets in edges.items()
        for target in targets
        if target.rsplit(".", 1)[-1].startswith("test_")
    }
    assert not into_tests, sorted(into_tests)
    support = {
        (module, target)
        for module, targets in edges.items()
        if module.startswith("tests.support")
        for target in targets
        if target.startswith("tests.") and not target.startswith("tests.support")
    }
    assert not support, sorted(support)


def test_bench_and_tests_do_not_edit_sys_path():
    """Benchmarks run as ``python -m bench.NAME`` from the root; nothing edits ``sys.path``."""
    edits = [
        f"{path.relative_to(imports.ROOT)}:{node.lineno}"
        for top in ("tests", "bench")
        for path in (imports.ROOT / top).rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Attribute)
        and node.attr == "path"
        and isinstance(node.value, ast.Name)
        and node.value.id == "sys"
    ]
    assert not edits, edits
