"""Image folders ``<dir>/<label>/*.png``: Spark's image source, normalised like serving does.

Every image goes through ``artifacts.runtime.preprocess.to_mnist`` — the same function serving
applies to uploads — so a model trained on folders of photos sees inputs the way it will in
production.
Decoding and normalising run on the executors in ``mapInPandas``.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as sf

from spark_jobs.errors import DataError

_OUT_SCHEMA = "label_dir string, features array<float>, _origin string, _invalid boolean"
_PIL_MODES = {1: "L", 3: "RGB", 4: "RGBA"}


def decode(height: int, width: int, channels: int, data: bytes):
    """A PIL image from Spark's image row (OpenCV layout: rows of BGR/BGRA bytes)."""
    from PIL import Image

    pixels = np.frombuffer(data, dtype=np.uint8).reshape(height, width, channels)
    if channels >= 3:  # BGR(A) → RGB(A)
        pixels = pixels[..., [2, 1, 0, *range(3, channels)]]
    if channels == 1:
        pixels = pixels[..., 0]
    return Image.fromarray(np.ascontiguousarray(pixels), mode=_PIL_MODES[channels])


def _normalise(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    from artifacts.runtime.preprocess import to_mnist

    for batch in batches:
        feats, invalid = [], []
        for h, w, c, data in zip(
            batch.height, batch.width, batch.nChannels, batch.data, strict=True
        ):
            bad = h <= 0 or w <= 0 or c not in _PIL_MODES
            invalid.append(bad)
            feats.append(np.zeros(784, np.float32) if bad else to_mnist(decode(h, w, c, data)))
        yield pd.DataFrame(
            {
                "label_dir": batch.label_dir,
                "features": feats,
                "_origin": batch.origin,
                "_invalid": invalid,
            }
        )


def read_images(spark: SparkSession, path: str) -> DataFrame:
    """DataFrame(label, features array<double>, _origin, _invalid) from a labelled folder tree.

    Unreadable files are kept (``dropInvalid`` off) and flagged so validation can name them;
    a folder name that is not a number makes the label null, which validation also reports.
    """
    try:
        raw = (
            spark.read.format("image")
            .option("dropInvalid", False)
            .option("recursiveFileLookup", True)
            .load(path)
        )
        raw.schema  # noqa: B018 - resolve the path now so a missing folder fails here
    except AnalysisException as exc:
        raise DataError(f"{path}: cannot read ({str(exc).splitlines()[0][:300]})") from exc
    flat = raw.select(
        "image.origin",
        "image.height",
        "image.width",
        "image.nChannels",
        "image.data",
        sf.regexp_extract("image.origin", r"/([^/]+)/[^/]+$", 1).alias("label_dir"),
    )
    normalised = flat.mapInPandas(_normalise, _OUT_SCHEMA)
    return normalised.select(
        sf.col("label_dir").try_cast("double").alias("label"),
        sf.col("features").cast("array<double>").alias("features"),
        "_origin",
        "_invalid",
        "label_dir",
    )
