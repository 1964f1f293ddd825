"""Held-out metrics: accuracy, per-class precision/recall/F1, the confusion matrix and its PNG.

The confusion counts are aggregated by Spark (``groupBy(label, prediction)``); only the
k×k table reaches the driver.
"""

from __future__ import annotations

import io

import numpy as np
from pyspark.sql import DataFrame


def confusion(predictions: DataFrame, classes: list[float]) -> np.ndarray:
    """k×k counts, rows = true label, columns = predicted, in ``classes`` order."""
    index = {float(c): i for i, c in enumerate(classes)}
    matrix = np.zeros((len(classes), len(classes)), dtype=np.int64)
    for row in predictions.groupBy("label", "prediction").count().collect():
        true, pred = index.get(float(row["label"])), index.get(float(row["prediction"]))
        if true is not None and pred is not None:
            matrix[true, pred] += row["count"]
    return matrix


def _label(c: float) -> int | float:
    return int(c) if float(c).is_integer() else float(c)


def metrics(matrix: np.ndarray, classes: list[float]) -> dict:
    """JSON-able metrics from a confusion matrix."""
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


def confusion_png(matrix: np.ndarray, classes: list[float], cell: int = 40) -> bytes:
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
