"""The parity check: Spark and the exported estimator must agree on held-out rows.

Every export runs it, so an artifact never claims to be a model it is not.  Labels must
agree on every row; probabilities (or, for margin-only models such as LinearSVC, decision
values) must agree within ``atol``.  The figures are returned for the manifest.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from .errors import ExportError, ParityError
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
) -> dict[str, Any]:
    """Run Spark ``transform`` and the estimator on the same rows and compare.

    ``labels`` maps Spark's class indices to labels (default: ``estimator.classes_``).
    Without probabilities (LinearSVC, one-vs-rest), decision values are compared with
    Spark's raw predictions times ``decision_scale``, relative to max(1, |value|).
    Returns ``{rows, label_agreement, max_proba_error, max_decision_error, passed,
    atol}``; raises ParityError, carrying that dict, when the check fails.
    """
    out = spark_model.transform(sample_df)
    pred_col, prob_col, raw_col = _output_cols(spark_model, out.columns)
    wanted = [*input_cols, pred_col, *(c for c in (prob_col, raw_col) if c)]
    rows = out.select(*dict.fromkeys(wanted)).collect()
    if not rows:
        raise ExportError("sample_df has no rows to check parity on")
    x = rows_to_matrix(rows, input_cols)
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
    parity = {
        "rows": len(rows),
        "label_agreement": agreement,
        "max_proba_error": proba_error,
        "max_decision_error": decision_error,
        "passed": agreement == 1.0 and worst <= atol,
        "atol": atol,
    }
    log.info("parity: %s", parity)
    if not parity["passed"]:
        raise ParityError(
            f"Spark and scikit-learn disagree on {len(rows)} held-out rows: label agreement "
            f"{agreement:.6f}, max error {worst:.3g} (atol {atol:g})",
            parity,
        )
    return parity
