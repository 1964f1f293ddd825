"""Regenerate the reference tables that live in Markdown from the code that defines them.

Each table sits between ``<!-- generated:NAME:begin -->`` and ``<!-- generated:NAME:end -->``
in its document and is rebuilt from one source, so the docs cannot drift from the code:

* ``settings`` in docs/configuration.md ← ``serving.settings.Settings.describe()``;
* ``values`` in helm/model-server/README.md ← the ``# --`` comments of the chart's values.yaml
  (the helm-docs convention: a comment starting ``# --`` documents the key below it);
* ``coverage`` in docs/export.md ← ``spark_jobs.export.registry.coverage_table()``;
* ``train-options`` and ``export-options`` in spark_jobs/README.md ← the option declarations
  of ``spark_jobs.settings.JobSettings`` and ``spark_jobs.export.command.ExportSettings``.

``python scripts/gen_docs.py`` rewrites them (``make docs``); ``--check`` exits 1 naming every
stale table, which is what the test suite runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
VALUES = ROOT / "helm" / "model-server" / "values.yaml"


@dataclass(frozen=True)
class Table:
    """One generated region: its document, marker name and how to build it."""

    document: Path
    name: str
    build: Callable[[], str]

    @property
    def markers(self) -> tuple[str, str]:
        return (f"<!-- generated:{self.name}:begin -->", f"<!-- generated:{self.name}:end -->")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def settings_table() -> str:
    from serving.settings import Settings

    rows = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for variable, default, doc in Settings.describe():
        shown = f"`{default}`" if default not in ("", "None") else "—"
        rows.append(f"| `{variable}` | {shown} | {_cell(doc)} |")
    return "\n".join(rows)


def documented_values(text: str) -> list[tuple[str, str]]:
    """``(dotted key, description)`` for every key whose line follows a ``# --`` comment.

    Continuation lines (``#`` comments right after a ``# --`` line) extend the description.
    """
    found, pending, path = [], None, []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("# --"):
            pending = stripped[4:].strip()
            continue
        if stripped.startswith("#"):
            if pending is not None:
                pending += " " + stripped[1:].strip()
            continue
        if not stripped or stripped.startswith("-") or ":" not in stripped:
            pending = None if not stripped else pending
            continue
        depth = (len(line) - len(line.lstrip(" "))) // 2
        path = [*path[:depth], stripped.split(":", 1)[0].strip().strip("'\"")]
        if pending is not None:
            found.append((".".join(path), pending))
            pending = None
    return found


def _lookup(values: dict[str, Any], dotted: str) -> Any:
    node: Any = values
    for part in dotted.split("."):
        node = node[part]
    return node


def _type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    return {int: "int", float: "float", str: "string", list: "list", dict: "object"}.get(
        type(value), "null" if value is None else type(value).__name__
    )


def values_table() -> str:
    text = VALUES.read_text(encoding="utf-8")
    values = yaml.safe_load(text)
    rows = ["| key | type | default | description |", "| --- | --- | --- | --- |"]
    for key, doc in documented_values(text):
        value = _lookup(values, key)
        default = "see below" if isinstance(value, dict) and value else json.dumps(value)
        rows.append(f"| `{key}` | {_type(value)} | `{_cell(default)}` | {_cell(doc)} |")
    return "\n".join(rows)


def coverage_table() -> str:
    from spark_jobs.export import registry

    return registry.coverage_table()


def _options_table(cls: type) -> str:
    from spark_jobs.options import describe

    rows = ["| option | default | meaning |", "| --- | --- | --- |"]
    for flags, default, doc in describe(cls):
        shown = f"`{_cell(default)}`" if default != "—" else default
        rows.append(f"| `{flags}` | {shown} | {_cell(doc)} |")
    return "\n".join(rows)


def train_options_table() -> str:
    from spark_jobs.settings import JobSettings

    return _options_table(JobSettings)


def export_options_table() -> str:
    from spark_jobs.export.command import ExportSettings

    return _options_table(ExportSettings)


TABLES = (
    Table(ROOT / "docs" / "configuration.md", "settings", settings_table),
    Table(ROOT / "helm" / "model-server" / "README.md", "values", values_table),
    Table(ROOT / "docs" / "export.md", "coverage", coverage_table),
    Table(ROOT / "spark_jobs" / "README.md", "train-options", train_options_table),
    Table(ROOT / "spark_jobs" / "README.md", "export-options", export_options_table),
)


def render(document: str, table: Table) -> str:
    """``document`` with the table's region replaced by a freshly built table."""
    begin, end = table.markers
    if begin not in document or end not in document:
        raise ValueError(f"{table.document.name} lacks the markers {begin} … {end}")
    head, rest = document.split(begin, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{begin}\n{table.build()}\n{end}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a table is stale")
    args = parser.parse_args(argv)
    stale = []
    for table in TABLES:
        current = table.document.read_text(encoding="utf-8")
        fresh = render(current, table)
        if fresh == current:
            continue
        if args.check:
            stale.append(f"{table.document.relative_to(ROOT)} ({table.name})")
        else:
            table.document.write_text(fresh, encoding="utf-8")
            print(f"rewrote the {table.name} table in {table.document.relative_to(ROOT)}")
    if stale:
        print(f"stale generated tables: {', '.join(stale)}; run `make docs`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
