"""Held-out metrics and their pictures.

Classification: accuracy, per-class precision/recall/F1, the confusion matrix and its PNG; the
counts are aggregated by Spark (``groupBy(label, prediction)``), only the k×k table reaches the
driver. Regression: RMSE, MAE and R² from one Spark aggregation, and a predicted-vs-actual
scatter PNG drawn from a bounded sample of rows.
"""

from __future__ import annotations

import io

import numpy as np
from pyspark.sql import DataFrame


def confusion(predictions: DataFrame, classes: list[float], label_col: str = "label") -> np.ndarray:
    """k×k counts, rows = true label, columns = predicted, in ``classes`` order."""
    index = {float(c): i for i, c in enumerate(classes)}
    matrix = np.zeros((len(classes), len(classes)), dtype=np.int64)
    for row in predictions.groupBy(label_col, "prediction").count().collect():
        true, pred = index.get(float(row[label_col])), index.get(float(row["prediction"]))
        if true is not None and pred is not None:
            matrix[true, pred] += row["count"]
    return matrix


def _label(c):
    if isinstance(c, str | bool):
        return c
    return int(c) if float(c).is_integer() else float(c)


def metrics(matrix: np.ndarray, classes: list) -> dict:
    """JSON-able metrics from a confusion matrix; ``classes`` name its rows (any labels)."""
    total = int(matrix.sum())
    tp = np.diag(matrix).astype(float)
    predicted, actual = matrix.sum(axis=0), matrix.sum(axis=1)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    per_class = {
        str(_label(c)): {
            "precision": round(float(precision[i]), 6),
            "recall": round(float(recall[i]), 6),
            "f1": round(float(f1[i]), 6),
            "support": int(actual[i]),
        }
        for i, c in enumerate(classes)
    }
    present = actual > 0
    return {
        "rows": total,
        "accuracy": round(float(tp.sum() / total), 6) if total else 0.0,
        "macro_f1": round(float(f1[present].mean()), 6) if present.any() else 0.0,
        "per_class": per_class,
        "labels": [_label(c) for c in classes],
        "confusion_matrix": matrix.tolist(),
    }


def confusion_png(matrix: np.ndarray, classes: list, cell: int = 40) -> bytes:
    """A readable heat-map of the matrix (Pillow only): row-normalised shade, raw counts."""
    from PIL import Image, ImageDraw

    k = len(classes)
    margin = cell
    img = Image.new("RGB", (margin + k * cell + 1, margin + k * cell + 1), "white")
    draw = ImageDraw.Draw(img)
    rows = matrix.sum(axis=1, keepdims=True)
    share = np.divide(matrix, rows, out=np.zeros(matrix.shape), where=rows > 0)
    for i in range(k):
        draw.text(
            (margin // 3, margin + i * cell + cell // 3), str(_label(classes[i])), fill="black"
        )
        draw.text(
            (margin + i * cell + cell // 3, margin // 3), str(_label(classes[i])), fill="black"
        )
        for j in range(k):
            shade = int(255 * (1 - share[i, j]))
            x, y = margin + j * cell, margin + i * cell
            draw.rectangle([x, y, x + cell, y + cell], fill=(shade, shade, 255), outline="grey")
            ink = "white" if share[i, j] > 0.5 else "black"
            draw.text((x + 4, y + cell // 3), str(int(matrix[i, j])), fill=ink)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def regression(predictions: DataFrame, label_col: str) -> dict:
    """RMSE, MAE and R² of ``prediction`` against ``label_col``, in one Spark pass."""
    from pyspark.sql import functions as sf

    y, p = sf.col(f"`{label_col}`").cast("double"), sf.col("prediction")
    facts = predictions.agg(
        sf.count(sf.lit(1)).alias("n"),
        sf.sum((p - y) ** 2).alias("sse"),
        sf.sum(sf.abs(p - y)).alias("sae"),
        sf.var_pop(y).alias("var"),
    ).first()
    n = int(facts["n"])
    if not n:
        return {"rows": 0}
    sse, var = float(facts["sse"]), float(facts["var"] or 0.0)
    r2 = 1.0 - sse / (n * var) if var > 0 else 0.0
    return {
        "rows": n,
        "rmse": round(float(np.sqrt(sse / n)), 6),
        "mae": round(float(facts["sae"]) / n, 6),
        "r2": round(r2, 6),
    }


def sample_pairs(predictions: DataFrame, label_col: str, limit: int = 2000) -> np.ndarray:
    """Up to ``limit`` (actual, predicted) pairs for the scatter plot."""
    rows = predictions.select(f"`{label_col}`", "prediction").limit(limit).collect()
    return np.array([(float(a), float(b)) for a, b in rows], dtype=float).reshape(-1, 2)


def scatter_png(pairs: np.ndarray, size: int = 400, margin: int = 40) -> bytes:
    """Predicted (y axis) against actual (x axis), with the y = x diagonal (Pillow only)."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (size + 2 * margin, size + 2 * margin), "white")
    draw = ImageDraw.Draw(img)
    lo, hi = (float(pairs.min()), float(pairs.max())) if len(pairs) else (0.0, 1.0)
    span = (hi - lo) or 1.0

    def at(actual: float, predicted: float) -> tuple[float, float]:
        return (
            margin + (actual - lo) / span * size,
            margin + size - (predicted - lo) / span * size,
        )

    draw.rectangle([margin, margin, margin + size, margin + size], outline="grey")
    draw.line([at(lo, lo), at(hi, hi)], fill="red")
    for actual, predicted in pairs:
        x, y = at(actual, predicted)
        draw.ellipse([x - 2, y - 2, x + 2, y + 2], fill=(40, 90, 200))
    draw.text((margin, margin + size + 12), f"actual ({lo:.3g} .. {hi:.3g})", fill="black")
    draw.text((4, margin // 3), "predicted", fill="black")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()
