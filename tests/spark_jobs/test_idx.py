"""IDX parsing: raw and gzip, and clear errors for files that are not what they claim."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from spark_jobs.errors import DataError, UsageError
from spark_jobs.sources.idx import labels_path_for, parse_idx


def _idx(array: np.ndarray) -> bytes:
    head = struct.pack(">BBBB", 0, 0, 0x08, array.ndim)
    return head + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


@pytest.mark.parametrize("compress", [False, True])
def test_roundtrip(compress):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    data = _idx(images)
    out = parse_idx(gzip.compress(data) if compress else data, "x")
    np.testing.assert_array_equal(out, images)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"PK\x03\x04junk", "bad magic"),
        (b"\x00\x00\x07\x01\x00\x00\x00\x01", "unsupported"),
        (_idx(np.zeros((2, 2), np.uint8))[:-1], "holds 3 bytes"),
        (b"\x1f\x8bnot-gzip", "corrupt gzip"),
    ],
)
def test_bad_files_name_the_source(data, message):
    with pytest.raises(DataError, match=message) as exc:
        parse_idx(data, "hdfs://x/train-images-idx3-ubyte")
    assert "hdfs://x/train-images-idx3-ubyte" in str(exc.value)


def test_labels_path_is_derived_from_the_images_name():
    assert labels_path_for("/d/train-images-idx3-ubyte.gz") == "/d/train-labels-idx1-ubyte.gz"
    assert labels_path_for("/d/t10k-images.idx3-ubyte") == "/d/t10k-labels.idx1-ubyte"
    with pytest.raises(UsageError, match="--labels"):
        labels_path_for("/d/pixels.bin")
