"""Rows by column name — records, column-split, columns, positional rows, CSV — → model input.

Tabular models get their schema's frame form, built and validated by
:mod:`artifacts.runtime.tabular` (every problem of a request reported at once, as one 400) and
handed over as a lazy :class:`~artifacts.runtime.tabular.Batch`: the model's compiled path reads
its arrays, the scikit-learn pipeline gets the DataFrame. Image and vector models keep their
float arrays and the checks of :mod:`serving.inputs`; named formats reach them through a *view*
of the model's feature names (or, for models whose features have no names, the names the
client sent, in the client's order — as MLflow hands such a frame to scikit-learn
positionally).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from artifacts.runtime import Model, tabular
from artifacts.schema import DOUBLE, Column, InputSchema

from .errors import InputMismatch, InvalidShape
from .inputs import check_batch, rows_from_json, validate_rows

RECORDS, SPLIT, COLUMNS, ROWS = "records", "split", "columns", "rows"


@dataclass(frozen=True)
class Table:
    """A request's rows in one of the four JSON shapes, not yet checked against a model."""

    shape: str  # RECORDS | SPLIT | COLUMNS | ROWS
    data: Any  # list of objects | rows | {name: values}
    columns: list[str] | None = None  # SPLIT only; None = positional

    @classmethod
    def of(cls, value: Any, field: str) -> Table:
        """``instances``/``inputs``: objects, lists, or an object of columns (TF serving)."""
        if isinstance(value, dict):
            return cls(COLUMNS, value)
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            return cls(RECORDS, value)
        if isinstance(value, list) and value and all(isinstance(v, list) for v in value):
            return cls(ROWS, value)
        raise InvalidShape(
            f"'{field}' must be a non-empty list of row objects ({{column: value}}), a list of "
            "rows (lists of values in the model's column order), or an object of "
            "{column: [values]}"
        )

    @property
    def n_rows(self) -> int:
        if self.shape == COLUMNS:
            lengths = [len(v) for v in self.data.values() if isinstance(v, list)]
            return max(lengths, default=1)
        return len(self.data) if isinstance(self.data, list) else 0


def positional(instances: Any) -> bool:
    """Rows given as lists of numbers (the array fast path), not objects or columns."""
    return isinstance(instances, list) and not (instances and isinstance(instances[0], dict))


def model_input(table: Table, model: Model, max_batch: int, field: str, *, max_text: int) -> Any:
    """The validated frame (tabular models) or float array (image and vector models).

    ``max_text`` caps each value of a text column (SERVING_MAX_TEXT_CHARS)."""
    check_batch(table.n_rows, max_batch)
    if model.is_tabular:  # validated columns; the model builds a DataFrame only if it needs one
        batch = _checked(_frame, table, model.inputs, False, lazy=True)
        return _checked(_text_within, batch, model.inputs, max_text)
    named = model.inputs is not None and bool(model.inputs.names)
    if table.shape == ROWS or (table.shape == SPLIT and not named):
        return rows_from_json(table.data, model, max_batch, field)
    frame = _checked(_frame, table, _view(model, _given_names(table)), False)
    return validate_rows(frame.to_numpy(dtype=np.float64), model, field)


def csv_input(body: str, model: Model, max_batch: int, *, max_text: int) -> Any:
    """A CSV body with a header row → model input; an empty cell is a missing value."""
    schema = model.inputs if model.is_tabular else None
    if schema is None:
        header = body.split("\n", 1)[0].strip().split(",")
        schema = _view(model, [name.strip() for name in header])
    frame = _checked(tabular.from_csv, body, schema, lazy=model.is_tabular)
    check_batch(len(frame), max_batch)
    if model.is_tabular:
        return _checked(_text_within, frame, schema, max_text)
    return validate_rows(frame.to_numpy(dtype=np.float64), model, "body")


def _frame(table: Table, schema: InputSchema, text: bool, lazy: bool = False) -> tabular.Frame:
    if table.shape == RECORDS:
        return tabular.from_records(table.data, schema, text=text, lazy=lazy)
    if table.shape == SPLIT:
        return tabular.from_split(table.columns, table.data, schema, text=text, lazy=lazy)
    if table.shape == COLUMNS:
        return tabular.from_columns(table.data, schema, text=text, lazy=lazy)
    return tabular.from_rows(table.data, schema, text=text, lazy=lazy)


def _text_within(frame: tabular.Frame, schema: InputSchema, max_text: int) -> tabular.Frame:
    """``frame`` if no text column holds a value longer than ``max_text`` characters.

    The exported tokenizers are linear, but the cost of one request must not grow with a
    single value beyond what real documents need (issue 27)."""
    problems = [
        tabular.Problem(
            col.name,
            row,
            f"{len(value)} characters of text; a value may hold at most {max_text} "
            "(SERVING_MAX_TEXT_CHARS)",
        )
        for col in schema.columns
        if col.text
        for row, value in enumerate(frame[col.name])
        if isinstance(value, str) and len(value) > max_text
    ]
    if problems:
        raise tabular.SchemaMismatch(problems[: tabular.MAX_PROBLEMS], len(problems))
    return frame


def _checked(build: Any, *args: Any, **options: Any) -> tabular.Frame:
    try:
        return build(*args, **options)
    except tabular.SchemaMismatch as exc:
        raise InputMismatch(str(exc), problems=exc.problems, problem_count=exc.total) from None


def _given_names(table: Table) -> list[str] | None:
    if table.shape == SPLIT:
        return table.columns
    if table.shape == COLUMNS:
        return [str(name) for name in table.data]
    first = table.data[0] if isinstance(table.data, list) and table.data else {}
    return [str(name) for name in first] if isinstance(first, dict) else None


def _view(model: Model, given: list[str] | None) -> InputSchema:
    """Image/vector features as a schema of required double columns, for named formats."""
    names = model.inputs.names if model.inputs is not None else None
    if names:
        return _double_columns(tuple(names))
    if not given or len(set(given)) != len(given):
        raise InvalidShape(
            f"model {model.name!r} takes {model.n_features} unnamed numeric features: send "
            "rows as lists of numbers, or give every column a distinct name"
        )
    if len(given) != model.n_features:
        raise InvalidShape(
            f"{len(given)} columns sent; model {model.name!r} takes {model.n_features} features"
        )
    return _double_columns(tuple(given))


@lru_cache(maxsize=64)
def _double_columns(names: tuple[str, ...]) -> InputSchema:
    return InputSchema.tabular([Column(name, DOUBLE, nullable=False) for name in names])
