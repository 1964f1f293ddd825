"""Metrics from a confusion matrix, and the PNG rendering of it."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from spark_jobs.train.evaluate import confusion, confusion_png, metrics


def test_metrics_from_a_known_matrix():
    matrix = np.array([[8, 2], [1, 9]])
    m = metrics(matrix, [0.0, 1.0])
    assert m["accuracy"] == 0.85
    assert m["per_class"]["0"] == {
        "precision": 0.888889,
        "recall": 0.8,
        "f1": 0.842105,
        "support": 10,
    }
    assert m["per_class"]["1"]["recall"] == 0.9
    assert m["confusion_matrix"] == [[8, 2], [1, 9]]
    assert m["labels"] == [0, 1]


def test_absent_class_has_zero_scores_not_nan():
    m = metrics(np.array([[3, 0], [0, 0]]), [0.0, 1.0])
    assert m["per_class"]["1"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert m["macro_f1"] == 1.0


def test_png_is_a_real_image():
    png = confusion_png(np.array([[5, 1, 0], [0, 4, 2], [1, 0, 6]]), [0.0, 1.0, 2.0])
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    assert image.size == (161, 161)


@pytest.mark.spark
def test_confusion_counts_with_spark(spark):
    rows = [(0.0, 0.0), (0.0, 1.0), (1.0, 1.0), (1.0, 1.0), (2.0, 0.0)]
    frame = spark.createDataFrame(rows, "label double, prediction double")
    assert confusion(frame, [0.0, 1.0, 2.0]).tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
