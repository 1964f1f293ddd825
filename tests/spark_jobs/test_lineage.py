"""Data digests for the manifest's lineage, and format detection from paths."""

from __future__ import annotations

import hashlib

import pytest

from spark_jobs.lineage import digest
from spark_jobs.sources import detect


def test_file_digest_is_sha256(tmp_path):
    path = tmp_path / "d.csv"
    path.write_bytes(b"0,1\n")
    assert digest(str(path)) == hashlib.sha256(b"0,1\n").hexdigest()
    assert digest(f"file://{path}") == digest(str(path))


def test_folder_digest_tracks_content_and_ignores_hidden_files(tmp_path):
    (tmp_path / "7").mkdir()
    (tmp_path / "7" / "a.png").write_bytes(b"x")
    before = digest(str(tmp_path))
    (tmp_path / "_SUCCESS").write_bytes(b"")
    (tmp_path / ".DS_Store").write_bytes(b"junk")
    assert digest(str(tmp_path)) == before
    (tmp_path / "7" / "a.png").write_bytes(b"y")
    assert digest(str(tmp_path)) != before


def test_remote_sources_are_not_hashed():
    assert digest("hdfs://nn/data/train.csv") is None
    assert digest("s3a://bucket/mnist") is None


@pytest.mark.parametrize(
    ("path", "fmt"),
    [
        ("hdfs://nn/mnist/train-images-idx3-ubyte.gz", "idx"),
        ("s3a://b/data.csv.gz", "csv"),
        ("/d/x.parquet", "parquet"),
        ("/d/x.libsvm", "libsvm"),
    ],
)
def test_detect_by_name(path, fmt):
    assert detect(path) == fmt


def test_detect_folders(tmp_path):
    (tmp_path / "imgs" / "3").mkdir(parents=True)
    (tmp_path / "imgs" / "3" / "a.PNG").write_bytes(b"")
    (tmp_path / "pq").mkdir()
    (tmp_path / "pq" / "part-0.parquet").write_bytes(b"")
    assert detect(str(tmp_path / "imgs")) == "images"
    assert detect(str(tmp_path / "pq")) == "parquet"
