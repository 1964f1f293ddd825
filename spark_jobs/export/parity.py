"""The parity check: Spark and the exported estimator must agree on held-out rows.

Every export runs it, so an artifact never claims to be a model it is not.  Labels must
agree on every row; probabilities (or, for margin-only models such as LinearSVC, decision
values) must agree within ``atol``; regression values within ``atol``·max(1, |y|).  The
figures are returned for the manifest.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from artifacts.schema import CLASSIFICATION, CLUSTERING, REGRESSION, InputSchema

from .errors import ExportError, ParityError
from .frame import to_frame
from .plan import flatten

log = logging.getLogger(__name__)


def rows_to_matrix(rows: list[Any], input_cols: Sequence[str]) -> np.ndarray:
    """Concatenate vector and numeric columns into X, in ``input_cols`` order."""
    matrix = []
    for row in rows:
        parts = []
        for name in input_cols:
            value = row[name]
            parts.append(value.toArray() if hasattr(value, "toArray") else np.array([value]))
        matrix.append(np.concatenate(parts).astype(np.float64))
    return np.vstack(matrix)


def _vectors(rows: list[Any], name: str) -> np.ndarray:
    return np.vstack([row[name].toArray() for row in rows]).astype(np.float64)


def _output_cols(spark_model: Any, columns: list[str]) -> tuple[str, str | None, str | None]:
    """Prediction, probability and raw-prediction column names of the final stage."""
    final = flatten(spark_model)[-1]
    names = []
    for param in ("predictionCol", "probabilityCol", "rawPredictionCol"):
        name = final.getOrDefault(param) if final.hasParam(param) else None
        names.append(name if name and name in columns else None)
    if names[0] is None:
        raise ExportError("the Spark model's output has no prediction column")
    return names[0], names[1], names[2]


def check_parity(
    spark_model: Any,
    estimator: Any,
    sample_df: Any,
    *,
    input_cols: Sequence[str] = ("features",),
    labels: Sequence[Any] | None = None,
    atol: float = 1e-6,
    decision_scale: float = 1.0,
    schema: InputSchema | None = None,
    task: str = CLASSIFICATION,
) -> dict[str, Any]:
    """Run Spark ``transform`` and the estimator on the same rows and compare.

    With a tabular ``schema`` the estimator gets the rows in frame form (``to_frame``),
    else the ``input_cols`` concatenated into X.  Classification: ``labels`` maps Spark's
    class indices to labels (default: ``estimator.classes_``); labels must agree on every
    row and probabilities within ``atol`` — without probabilities (LinearSVC,
    one-vs-rest), decision values against Spark's raw predictions times
    ``decision_scale``, relative to max(1, |value|).  Regression: predictions within
    ``atol``·max(1, |y|).  Returns the figures (``rows``, ``label_agreement``,
    ``max_proba_error``, ``max_decision_error``, ``max_abs_error``, ``edge_rows``,
    ``passed``, ``atol``); raises ParityError, carrying them, when the check fails.
    """
    out = spark_model.transform(sample_df)
    pred_col, prob_col, raw_col = _output_cols(spark_model, out.columns)
    outputs = [pred_col, *(c for c in (prob_col, raw_col) if c)]
    if schema is not None and schema.is_tabular:
        x, rows = to_frame(out, schema, keep=outputs)
    else:
        rows = out.select(*dict.fromkeys([*input_cols, *outputs])).collect()
        x = rows_to_matrix(rows, input_cols) if rows else None
    if not rows:
        raise ExportError("sample_df has no rows to check parity on")
    if task == REGRESSION:
        figures = _regression_figures(estimator, x, rows, pred_col, atol)
    elif task == CLUSTERING:
        figures = _clustering_figures(estimator, x, rows, pred_col)
    else:
        figures = _classification_figures(
            estimator, x, rows, (pred_col, prob_col, raw_col), labels, atol, decision_scale
        )
    parity = {"rows": len(rows), **figures, "atol": atol}
    if schema is not None and schema.is_tabular:
        parity["edge_rows"] = edge_row_counts(x, schema)
    log.info("parity: %s", parity)
    if not parity["passed"]:
        raise ParityError(
            f"Spark and scikit-learn disagree on {len(rows)} held-out rows: "
            f"{_summary(parity)} (atol {atol:g})",
            parity,
        )
    return parity


def _summary(parity: dict[str, Any]) -> str:
    if "max_proba_error" not in parity and "max_error" not in parity:
        return f"cluster agreement {parity['label_agreement']:.6f}"
    if "max_abs_error" in parity:
        return f"max error {parity['max_error']:.3g} relative to max(1, |y|)"
    worst = parity["max_proba_error"]
    if worst is None:
        worst = parity["max_decision_error"]
    return f"label agreement {parity['label_agreement']:.6f}, max error {worst:.3g}"


def _classification_figures(
    estimator: Any,
    x: Any,
    rows: list[Any],
    cols: tuple[str, str | None, str | None],
    labels: Sequence[Any] | None,
    atol: float,
    decision_scale: float,
) -> dict[str, Any]:
    pred_col, prob_col, raw_col = cols
    classes = np.asarray(labels if labels is not None else estimator.classes_)
    spark_labels = classes[np.array([int(row[pred_col]) for row in rows])]
    agreement = float(np.mean(estimator.predict(x) == spark_labels))
    proba_error = decision_error = None
    if prob_col and hasattr(estimator, "predict_proba"):
        proba_error = float(np.max(np.abs(estimator.predict_proba(x) - _vectors(rows, prob_col))))
    elif raw_col and hasattr(estimator, "decision_function"):
        decision = estimator.decision_function(x)
        raw = _vectors(rows, raw_col) * decision_scale
        margin = raw[:, 1] if decision.ndim == 1 else raw
        error = np.abs(decision - margin) / np.maximum(1.0, np.abs(margin))
        decision_error = float(np.max(error))
    else:
        raise ExportError("neither probabilities nor decision values could be compared")
    worst = proba_error if proba_error is not None else decision_error
    return {
        "label_agreement": agreement,
        "max_proba_error": proba_error,
        "max_decision_error": decision_error,
        "passed": agreement == 1.0 and worst <= atol,
    }


def _clustering_figures(estimator: Any, x: Any, rows: list[Any], pred_col: str) -> dict[str, Any]:
    """Cluster ids must agree on every row (the label agreement of a clusterer)."""
    spark_ids = np.array([int(row[pred_col]) for row in rows])
    agreement = float(np.mean(np.asarray(estimator.predict(x)).astype(int) == spark_ids))
    return {"label_agreement": agreement, "passed": agreement == 1.0}


def _regression_figures(
    estimator: Any, x: Any, rows: list[Any], pred_col: str, atol: float
) -> dict[str, Any]:
    """|ours − Spark's| and the same relative to max(1, |Spark's|); NaN only matches NaN."""
    spark_y = np.array([np.nan if r[pred_col] is None else r[pred_col] for r in rows], float)
    ours = np.asarray(estimator.predict(x), dtype=np.float64).ravel()
    both_nan = np.isnan(spark_y) & np.isnan(ours)
    diff = np.where(both_nan, 0.0, np.abs(ours - spark_y))
    diff = np.where(np.isnan(diff), np.inf, diff)
    relative = diff / np.maximum(1.0, np.abs(np.nan_to_num(spark_y)))
    return {
        "max_abs_error": float(np.max(diff)),
        "max_error": float(np.max(relative)),
        "passed": bool(np.max(relative) <= atol),
    }


def edge_row_counts(frame: pd.DataFrame, schema: InputSchema) -> dict[str, int]:
    """How many checked rows have a missing number, a missing or an unseen category."""
    missing_number = np.zeros(len(frame), dtype=bool)
    missing_category = np.zeros(len(frame), dtype=bool)
    unseen = np.zeros(len(frame), dtype=bool)
    for column in schema.columns:
        values = frame[column.name]
        if column.text:  # free text has no label set: no document is an unseen category
            continue
        if column.categorical:
            missing = values.isna().to_numpy()
            missing_category |= missing
            unseen |= ~missing & ~values.isin(list(column.categories)).to_numpy()
        else:
            missing_number |= values.isna().to_numpy()
    return {
        "missing_numeric": int(missing_number.sum()),
        "missing_category": int(missing_category.sum()),
        "unseen_category": int(unseen.sum()),
    }
