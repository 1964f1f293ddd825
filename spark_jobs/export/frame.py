"""Spark rows → the *frame form* a tabular export takes (see :mod:`artifacts.schema`).

This is the only place the exporter turns Spark data into what the exported Pipeline
receives; ``artifacts.runtime.tabular`` does the same for JSON requests at serving time.  Spark
itself casts categorical columns to string (``cast("string")`` is what StringIndexer
applies to non-string input, so booleans become ``"true"``/``"false"`` and doubles
Spark's own rendering such as ``"1.0E10"``); numeric columns are cast to double.  Python
then only maps nulls: NaN for numeric columns, ``None`` for categorical ones.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from artifacts.schema import InputSchema

_PREFIX = "__frame_"


def to_frame(
    df: Any, schema: InputSchema, keep: Sequence[str] = ()
) -> tuple[pd.DataFrame, list[Any]]:
    """Collect ``df`` as the frame form of ``schema``, plus the ``keep`` columns' rows.

    Returns the DataFrame (columns in schema order; numeric float64, categorical object
    holding ``str`` or ``None``) and the collected Spark rows, whose ``keep`` fields line
    up with the frame's rows (e.g. Spark's predictions for a parity check).
    """
    from pyspark.sql import functions as F  # noqa: N812

    exprs = [
        F.col(_quote(c.name)).cast("string" if c.categorical else "double").alias(f"{_PREFIX}{i}")
        for i, c in enumerate(schema.columns)
    ]
    rows = df.select(*exprs, *(F.col(_quote(name)) for name in keep)).collect()
    data = {}
    for i, column in enumerate(schema.columns):
        values = [row[f"{_PREFIX}{i}"] for row in rows]
        if column.categorical:
            data[column.name] = pd.Series(values, dtype=object)
        else:
            numbers = [math.nan if v is None else v for v in values]
            data[column.name] = pd.Series(numbers, dtype=np.float64)
    return pd.DataFrame(data, columns=schema.column_names), rows


def _quote(name: str) -> str:
    """Backtick-quote a column name so dots and spaces are taken literally."""
    return "`" + name.replace("`", "``") + "`"
