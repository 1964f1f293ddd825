"""IDX files (MNIST, Fashion-MNIST): the format, parsed from bytes, and its Spark reader.

The files are read with ``SparkContext.binaryFiles`` so any Hadoop path works (local,
``hdfs://``, ``s3a://``); parsing happens on the executors. Images and labels are separate
files joined on the record index.
"""

from __future__ import annotations

import gzip
import re
import struct
from collections.abc import Iterator

import numpy as np

from spark_jobs.errors import DataError, UsageError

_GZIP_MAGIC = b"\x1f\x8b"
_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def parse_idx(data: bytes, source: str) -> np.ndarray:
    """Decode one IDX file (raw or gzip) into an array of its declared shape.

    Raises ``DataError`` naming ``source`` for a bad magic number, unknown element type,
    truncated payload or trailing bytes: a file that silently parses wrong would train a
    model on noise.
    """
    if data[:2] == _GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise DataError(f"{source}: corrupt gzip stream ({exc})") from exc
    if len(data) < 4 or data[0:2] != b"\x00\x00":
        raise DataError(f"{source}: not an IDX file (bad magic number)")
    type_code, ndim = data[2], data[3]
    if type_code not in _DTYPES or ndim == 0:
        raise DataError(f"{source}: unsupported IDX element type 0x{type_code:02x} or rank {ndim}")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{source}: truncated IDX header")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    dtype = np.dtype(_DTYPES[type_code])
    expected = int(np.prod(shape)) * dtype.itemsize
    actual = len(data) - header
    if actual != expected:
        raise DataError(
            f"{source}: IDX header declares shape {shape} ({expected} bytes) "
            f"but the file holds {actual} bytes"
        )
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)


def image_records(path: str, data: bytes) -> Iterator[tuple[int, list[float]]]:
    """(index, pixels scaled to [0, 1]) for every image in an idx3 file."""
    images = parse_idx(data, path)
    if images.ndim != 3:
        raise DataError(f"{path}: expected an images file (rank 3), found rank {images.ndim}")
    flat = images.reshape(len(images), -1).astype(np.float64) / 255.0
    for i, row in enumerate(flat):
        yield i, row.tolist()


def label_records(path: str, data: bytes) -> Iterator[tuple[int, float]]:
    """(index, label) for every label in an idx1 file."""
    labels = parse_idx(data, path)
    if labels.ndim != 1:
        raise DataError(f"{path}: expected a labels file (rank 1), found rank {labels.ndim}")
    for i, label in enumerate(labels.tolist()):
        yield i, float(label)


def labels_path_for(images_path: str) -> str:
    """The conventional labels file next to an images file (``…-images-idx3-…`` → labels)."""
    derived = re.sub(r"images([.-]idx)3", r"labels\g<1>1", images_path)
    if derived == images_path:
        raise UsageError(
            f"cannot derive the IDX labels file from {images_path!r}; pass --labels PATH"
        )
    return derived


def read_idx(spark, images_path: str, labels_path: str | None):
    """DataFrame(label, features array<double>, _origin) from an images and a labels file."""
    labels_path = labels_path or labels_path_for(images_path)
    sc = spark.sparkContext
    images = sc.binaryFiles(images_path).flatMap(
        lambda kv: ((kv[0], i, px) for i, px in image_records(kv[0], kv[1]))
    )
    labels = sc.binaryFiles(labels_path).flatMap(
        lambda kv: ((i, lab) for i, lab in label_records(kv[0], kv[1]))
    )
    img_df = spark.createDataFrame(images, "_file string, _i long, features array<double>")
    lab_df = spark.createDataFrame(labels, "_i long, label double")
    counts = img_df.groupBy().count().first()[0], lab_df.groupBy().count().first()[0]
    if counts[0] != counts[1]:
        raise DataError(
            f"{images_path}: {counts[0]} images but {labels_path} has {counts[1]} labels"
        )
    from pyspark.sql import functions as sf

    joined = img_df.join(lab_df, "_i")
    return joined.select(
        "label",
        "features",
        sf.concat_ws("#", "_file", sf.col("_i").cast("string")).alias("_origin"),
    )
