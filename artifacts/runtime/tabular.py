"""Rows as clients send them → the *frame form* a tabular model takes (see :mod:`artifacts.schema`).

Pure numpy + pandas, no web framework: serving uses it for every tabular request format, batch
scoring on Spark for each pandas batch. Input arrives in one of four shapes — records (a list of
objects), column-split (``columns`` + ``data`` rows), columns (name → list of values) or
positional rows (lists in the schema's column order) — and, for CSV and other text sources,
with every value a string. All shapes become name → list of values and go through one validator.
Typed columns (numpy arrays, as a Parquet or Arrow batch holds them) have their own entry point,
:func:`from_arrays`, which checks a whole column with numpy and gives the same result.
Each entry point returns a pandas DataFrame, or with ``lazy=True`` the same validated columns as
a :class:`Batch` (numpy arrays by name; ``to_frame()`` builds the DataFrame when needed).

Validation collects *every* problem before failing, so a client fixes a request in one round
trip: an unknown column, a missing required column, a value of the wrong type (a string or a
boolean in a numeric column, a fraction in a long column), a null where training saw none, an
unseen category in a column whose policy is ``"error"``. :class:`SchemaMismatch` carries them
as ``{"field", "row", "message"}`` dicts (``row`` is the 0-based row of the request, ``None``
for a whole column or the request's shape).

Rules worth knowing:

- A nullable column may be left out entirely (every row is then missing); a non-nullable one
  is required. ``null`` (or, in text, an empty cell) is a missing value: NaN in numeric columns,
  ``None`` in categorical ones — the imputer and the encoder handle those as Spark did.
- Values outside a numeric column's training range are accepted (models extrapolate).
- A text column (``Column.text``) takes any string; an empty CSV cell there is an empty
  document, not a missing value.
- Categorical values become ``str`` as Spark casts them: booleans ``"true"``/``"false"``, a long
  ``3`` → ``"3"``, a double ``3`` → ``"3.0"``.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ArtifactError
from ..schema import BOOLEAN, LONG, STRING, Column, InputSchema

MAX_PROBLEMS = 100  # enough to fix a request; a bigger list only makes the reply huge
_SHOWN_CATEGORIES = 20
_BOOLEANS = {"true": "true", "false": "false"}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a request: which column (``field``), which row, and what."""

    field: str | None
    row: int | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "row": self.row, "message": self.message}


class SchemaMismatch(ArtifactError):
    """Rows do not fit the model's input schema; ``problems`` lists every reason found."""

    def __init__(self, problems: list[Problem], total: int) -> None:
        self.problems = [p.to_dict() for p in problems]
        self.total = total
        shown = "; ".join(_describe(p) for p in problems[:5])
        more = f" (and {total - 5} more)" if total > 5 else ""
        super().__init__(f"{total} problem(s) with the input: {shown}{more}")


def _describe(problem: Problem) -> str:
    where = [f"column {problem.field!r}"] if problem.field is not None else []
    if problem.row is not None:
        where.append(f"row {problem.row}")
    return f"{', '.join(where)}: {problem.message}" if where else problem.message


class _Collector:
    """Gathers problems up to MAX_PROBLEMS while counting all of them."""

    def __init__(self) -> None:
        self.items: list[Problem] = []
        self.total = 0

    def add(self, field: str | None, row: int | None, message: str) -> None:
        self.total += 1
        if len(self.items) < MAX_PROBLEMS:
            self.items.append(Problem(field, row, message))

    def raise_if_any(self) -> None:
        if self.total:
            raise SchemaMismatch(self.items, self.total)


class Batch:
    """Validated rows in frame form as one array per schema column, before pandas.

    Numeric columns are float64 with NaN for a missing value, categorical ones ``object``
    holding ``str`` or ``None`` — exactly the columns :meth:`to_frame` puts in the DataFrame.
    Building that DataFrame costs more than validating a small request, so a caller that
    reads the arrays directly (serving's compiled tabular path) asks for ``lazy=True`` and
    only pays for pandas when it needs the frame. ``len()`` is the number of rows, as for a
    DataFrame.
    """

    __slots__ = ("arrays", "n_rows", "schema")

    def __init__(self, arrays: dict[str, np.ndarray], schema: InputSchema, n_rows: int) -> None:
        self.arrays = arrays
        self.schema = schema
        self.n_rows = n_rows

    def __len__(self) -> int:
        return self.n_rows

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name]

    def to_frame(self) -> pd.DataFrame:
        return _build(self.arrays, self.schema)


Frame = pd.DataFrame | Batch  # what the entry points return: a DataFrame, or a Batch if lazy


# --- public entry points: one per request shape ---------------------------------------------


def from_records(
    records: Any, schema: InputSchema, *, text: bool = False, lazy: bool = False
) -> Frame:
    """A list of ``{column: value}`` objects (MLflow ``dataframe_records``) → frame."""
    problems = _Collector()
    if not isinstance(records, list) or not records:
        problems.add(None, None, "expected a non-empty list of row objects")
        problems.raise_if_any()
    names = schema.column_names
    seen: dict[str, None] = {}
    for row, record in enumerate(records):
        if not isinstance(record, dict):
            problems.add(None, row, "a row must be an object of column: value")
        else:
            seen.update(dict.fromkeys(record))
    problems.raise_if_any()
    present = [name for name in names if name in seen]
    columns = {name: [record.get(name) for record in records] for name in present}
    extra = [name for name in seen if name not in columns]
    return _frame(columns, extra, len(records), schema, problems, text, lazy)


def from_split(
    columns: Any, data: Any, schema: InputSchema, *, text: bool = False, lazy: bool = False
) -> Frame:
    """Column names plus rows of values (MLflow ``dataframe_split``, a CSV) → frame.

    ``columns=None`` means the rows are positional, in the schema's column order.
    """
    problems = _Collector()
    if columns is None:
        columns = schema.column_names
    elif not (isinstance(columns, list) and all(isinstance(c, str) for c in columns)):
        problems.add(None, None, "'columns' must be a list of column names")
    elif len(set(columns)) != len(columns):
        dupes = sorted({c for c in columns if columns.count(c) > 1})
        problems.add(None, None, f"column names repeat: {', '.join(dupes)}")
    if not isinstance(data, list) or not data:
        problems.add(None, None, "expected a non-empty list of rows")
    problems.raise_if_any()
    width = len(columns)
    for row, values in enumerate(data):
        if not isinstance(values, list) or len(values) != width:
            problems.add(None, row, f"a row must be a list of {width} values, one per column")
    problems.raise_if_any()
    by_name = {name: [values[i] for values in data] for i, name in enumerate(columns)}
    known = set(schema.column_names)
    extra = [name for name in columns if name not in known]
    present = {name: by_name[name] for name in schema.column_names if name in by_name}
    return _frame(present, extra, len(data), schema, problems, text, lazy)


def from_rows(rows: Any, schema: InputSchema, *, text: bool = False, lazy: bool = False) -> Frame:
    """Positional rows (lists in the schema's column order) → frame."""
    return from_split(None, rows, schema, text=text, lazy=lazy)


def from_columns(
    columns: Any, schema: InputSchema, *, text: bool = False, lazy: bool = False
) -> Frame:
    """``{column: [values…]}`` (TF-serving columnar ``inputs``, V2 per-column tensors) → frame.

    A mapping of scalars is one row.
    """
    problems = _Collector()
    if not isinstance(columns, Mapping) or not columns:
        problems.add(None, None, "expected an object of column: [values]")
        problems.raise_if_any()
    if not any(isinstance(v, list) for v in columns.values()):
        columns = {name: [value] for name, value in columns.items()}
    lengths = {len(v) for v in columns.values() if isinstance(v, list)}
    for name, values in columns.items():
        if not isinstance(values, list):
            problems.add(name, None, "a column must be a list of values")
    if len(lengths) > 1:
        problems.add(None, None, f"columns differ in length ({sorted(lengths)}); send equal lists")
    elif lengths == {0}:
        problems.add(None, None, "the columns hold no rows")
    problems.raise_if_any()
    known = set(schema.column_names)
    present = {name: list(columns[name]) for name in schema.column_names if name in columns}
    extra = [name for name in columns if name not in known]
    return _frame(present, extra, lengths.pop(), schema, problems, text, lazy)


def from_arrays(
    arrays: Mapping[str, np.ndarray], schema: InputSchema, *, lazy: bool = False
) -> Frame:
    """Typed columns — 1-D numpy arrays by name, as a Parquet or Arrow batch holds them → frame.

    Exactly what ``from_columns({name: array.tolist()}, schema)`` gives (the same frame, or the
    same :class:`SchemaMismatch` with the same problems), but a column of floats, integers,
    booleans or strings-with-gaps is checked in a few numpy passes instead of value by value.
    A column the fast check cannot clear (a gap where training saw none, an infinity, a
    fraction in a long column, an unseen category under ``"error"``, an unexpected type) goes
    through the per-value path, which names the rows. Text rules (CSV) are not applied.
    """
    vectors = all(isinstance(a, np.ndarray) and a.ndim == 1 for a in arrays.values())
    lengths = {len(a) for a in arrays.values()} if vectors else set()
    if len(lengths) != 1 or 0 in lengths:  # not typed columns of one non-zero length
        lists = {k: a.tolist() if isinstance(a, np.ndarray) else a for k, a in arrays.items()}
        return from_columns(lists, schema, lazy=lazy)
    known = set(schema.column_names)
    extra = [name for name in arrays if name not in known]
    columns: dict[str, Any] = {}
    for col in schema.columns:
        values = arrays.get(col.name)
        if values is None:
            continue
        fast = _categorical_typed(col, values) if col.categorical else _numeric_typed(col, values)
        columns[col.name] = _Checked(fast) if fast is not None else values.tolist()
    return _frame(columns, extra, lengths.pop(), schema, _Collector(), False, lazy)


def from_csv(body: str, schema: InputSchema, *, lazy: bool = False) -> Frame:
    """CSV text with a header row → frame. An empty cell is a missing value, as in Spark."""
    reader = csv.reader(io.StringIO(body))
    try:
        lines = [line for line in reader if line]
    except csv.Error as exc:
        raise SchemaMismatch([Problem(None, None, f"not valid CSV: {exc}")], 1) from None
    if len(lines) < 2:
        raise SchemaMismatch(
            [Problem(None, None, "send a header row of column names and at least one row")], 1
        )
    header, *data = lines
    return from_split([name.strip() for name in header], data, schema, text=True, lazy=lazy)


def conform(frame: pd.DataFrame, schema: InputSchema) -> pd.DataFrame:
    """A pandas frame of raw values (a Spark batch) → the frame form; NaN counts as missing."""
    columns = {str(name): frame[name].tolist() for name in frame.columns}
    return from_columns(columns, schema) if len(frame) else _empty(schema)


to_frame = from_records  # the name artifacts.schema's docstring uses


# --- the validator -----------------------------------------------------------------------------


def _frame(
    columns: dict[str, list],
    extra: list[str],
    n_rows: int,
    schema: InputSchema,
    problems: _Collector,
    text: bool,
    lazy: bool = False,
) -> Frame:
    for name in extra:
        problems.add(name, None, f"unknown column; the model takes {_names(schema)}")
    arrays: dict[str, np.ndarray] = {}
    for col in schema.columns:
        values = columns.get(col.name)
        if values is None:
            if not col.nullable:
                problems.add(col.name, None, "missing required column")
                continue
            values = [None] * n_rows
        if isinstance(values, _Checked):
            arrays[col.name] = values.array
        elif col.categorical:
            arrays[col.name] = _categorical(col, values, problems, text)
        else:
            arrays[col.name] = _numeric(col, values, problems, text)
    problems.raise_if_any()
    batch = Batch(arrays, schema, n_rows)
    return batch if lazy else batch.to_frame()


def _build(arrays: dict[str, np.ndarray], schema: InputSchema) -> pd.DataFrame:
    """Categorical columns stay ``object`` with ``None`` (left alone, pandas would infer its
    string dtype and turn ``None`` into NaN)."""
    return pd.DataFrame(
        {
            c.name: pd.Series(arrays[c.name], dtype=object if c.categorical else np.float64)
            for c in schema.columns
        }
    )


def _empty(schema: InputSchema) -> pd.DataFrame:
    return _build(
        {
            c.name: np.empty(0, dtype=object if c.categorical else np.float64)
            for c in schema.columns
        },
        schema,
    )


def _names(schema: InputSchema) -> str:
    names = schema.column_names
    shown = ", ".join(names[:30])
    return shown + (f" … ({len(names)} columns)" if len(names) > 30 else "")


def _missing(value: Any, text: bool) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return text and isinstance(value, str) and value == ""


def _numeric(col: Column, values: list, problems: _Collector, text: bool) -> np.ndarray:
    fast = _numeric_fast(col, values, text)
    if fast is not None:
        return fast
    out = np.empty(len(values), dtype=np.float64)
    for row, value in enumerate(values):
        if _missing(value, text):
            if not col.nullable:
                problems.add(col.name, row, "null in a column that had no nulls in training")
            out[row] = np.nan
            continue
        number, error = _to_number(value, col.type, text)
        if error:
            problems.add(col.name, row, error)
        out[row] = number
    return out


def _numeric_fast(col: Column, values: list, text: bool) -> np.ndarray | None:
    """The common case — JSON numbers only — in one numpy call; None means check each value."""
    if text:
        return None
    allowed = {int, float, type(None)} if col.nullable else {int, float}
    if not set(map(type, values)) <= allowed:
        return None
    try:
        array = np.array(values, dtype=np.float64)
    except (OverflowError, TypeError, ValueError):
        return None
    if np.isinf(array).any():
        return None
    if col.type == LONG and not np.all(np.isnan(array) | (array == np.floor(array))):
        return None
    if not col.nullable and np.isnan(array).any():
        return None
    return array


def _to_number(value: Any, kind: str, text: bool) -> tuple[float, str | None]:
    """(number, None) or (NaN, why the value is refused)."""
    if isinstance(value, bool):
        return math.nan, f"expected a number, got boolean {_show(value)}"
    if isinstance(value, str):
        if not text:
            return math.nan, f"expected a number, got string {_show(value)}"
        try:
            value = float(value.strip())
        except ValueError:
            return math.nan, f"not a number: {_show(value)}"
        if math.isnan(value):
            return math.nan, None
    if not isinstance(value, int | float | np.number):
        return math.nan, f"expected a number, got {_json_type(value)} {_show(value)}"
    try:
        number = float(value)
    except OverflowError:
        return math.nan, f"number too large: {_show(value)}"
    if not math.isfinite(number):
        return math.nan, f"not a finite number: {_show(value)}"
    if kind == LONG and not number.is_integer():
        return math.nan, f"expected an integer, got {_show(value)}"
    return number, None


def _categorical(col: Column, values: list, problems: _Collector, text: bool) -> np.ndarray:
    fast = _categorical_fast(col, values, text)
    if fast is not None:
        return fast
    out = np.empty(len(values), dtype=object)
    known = _category_set(col) if col.unseen == "error" else None
    empty_is_missing = text and not col.text  # a text column's empty cell is an empty document
    for row, value in enumerate(values):
        if _missing(value, empty_is_missing):
            if not col.nullable:
                problems.add(col.name, row, "null in a column that had no nulls in training")
            out[row] = None
            continue
        category, error = _to_category(value, col.type, text)
        if error:
            problems.add(col.name, row, error)
        elif known is not None and category not in known:
            problems.add(col.name, row, _unseen(col, category))
        out[row] = category
    return out


def _categorical_fast(col: Column, values: list, text: bool) -> np.ndarray | None:
    """JSON strings (or booleans) that cannot be wrong, copied at once; None: check each."""
    kinds = set(map(type, values))
    if type(None) in kinds and not col.nullable:
        return None
    kinds.discard(type(None))
    if col.type == STRING and kinds <= {str}:
        if text and not col.text and "" in values:
            return None
        if col.unseen == "error" and not set(values) - {None} <= _category_set(col):
            return None
        out = np.empty(len(values), dtype=object)
        out[:] = values
        return out
    if col.type == BOOLEAN and kinds <= {bool}:
        cast = [None if v is None else ("true" if v else "false") for v in values]
        if col.unseen == "error" and not set(cast) - {None} <= _category_set(col):
            return None
        out = np.empty(len(values), dtype=object)
        out[:] = cast
        return out
    return None


@dataclass(frozen=True)
class _Checked:
    """A column :func:`from_arrays` already validated and converted to the frame form."""

    array: np.ndarray


_TRUE_FALSE = np.array(["false", "true"], dtype=object)


def _numeric_typed(col: Column, values: np.ndarray) -> np.ndarray | None:
    """A float or integer array that cannot be wrong, as float64; None: check each value.

    Booleans and object arrays always go value by value (a boolean in a numeric column is a
    problem to report)."""
    if values.dtype.kind not in "fiu":
        return None
    array = values.astype(np.float64)  # a copy: the frame never shares the caller's buffer
    if values.dtype.kind == "f":
        if np.isinf(array).any():
            return None
        gaps = np.isnan(array)
        if not col.nullable and gaps.any():
            return None
        if col.type == LONG and not np.all(gaps | (array == np.floor(array))):
            return None
    return array


def _categorical_typed(col: Column, values: np.ndarray) -> np.ndarray | None:
    """Booleans, or strings with None/NaN gaps, that cannot be wrong, in the frame form (None
    for a gap); None: check each value. Numbers in categorical columns go value by value."""
    kind = values.dtype.kind
    if col.type == BOOLEAN and kind == "b":
        if col.unseen == "error":
            seen = {"true"} if values.any() else set()
            seen |= set() if values.all() else {"false"}
            if not seen <= _category_set(col):
                return None
        return _TRUE_FALSE[values.view(np.uint8)]
    if col.type != STRING or kind != "O":
        return None
    gaps = pd.isna(values)
    present = values[~gaps]
    if len(present) and pd.api.types.infer_dtype(present, skipna=False) != "string":
        return None
    if gaps.any():
        if not col.nullable:
            return None
        if not all(v is None or isinstance(v, float) for v in values[gaps].tolist()):
            return None  # pd.NA, NaT and the like are not gaps to the per-value path
    if col.unseen == "error" and not set(present.tolist()) <= _category_set(col):
        return None
    out = values.copy()
    out[gaps] = None
    return out


def _to_category(value: Any, kind: str, text: bool) -> tuple[str | None, str | None]:
    """The category string Spark would see for ``value``, or why it does not fit ``kind``."""
    if kind == STRING:
        if isinstance(value, str):
            return value, None
        return None, f"expected a string, got {_json_type(value)} {_show(value)}"
    if kind == BOOLEAN:
        if isinstance(value, bool):
            return ("true" if value else "false"), None
        if isinstance(value, str) and value.strip().lower() in _BOOLEANS:
            return _BOOLEANS[value.strip().lower()], None
        return None, f"expected true or false, got {_json_type(value)} {_show(value)}"
    number, error = _to_number(value, kind, text)
    if error:
        return None, error
    if math.isnan(number):
        return None, None
    return (str(int(number)) if kind == LONG else repr(float(number))), None


@lru_cache(maxsize=256)
def _category_set(col: Column) -> frozenset[str]:
    return frozenset(col.categories or ())


def _unseen(col: Column, value: str) -> str:
    cats = list(col.categories or ())
    shown = ", ".join(repr(c) for c in cats[:_SHOWN_CATEGORIES])
    more = f" … ({len(cats)} in all)" if len(cats) > _SHOWN_CATEGORIES else ""
    return f"unseen category {_show(value)}; this column accepts only {shown}{more}"


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _show(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


__all__ = [
    "MAX_PROBLEMS",
    "Batch",
    "Frame",
    "Problem",
    "SchemaMismatch",
    "conform",
    "from_arrays",
    "from_columns",
    "from_csv",
    "from_records",
    "from_rows",
    "from_split",
    "to_frame",
]
