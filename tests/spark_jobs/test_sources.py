"""Every reader lands on one schema; bad data fails with the source and the record named."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from pyspark.ml.linalg import VectorUDT

from spark_jobs import sources
from spark_jobs.errors import DataError, UsageError
from spark_jobs.session import data_errors

from .conftest import digits, settings, write_idx

pytestmark = pytest.mark.spark


def _read(spark, **kw) -> sources.Dataset:
    s = settings(**kw)
    with data_errors(s.data or "sample"):
        return sources.read(spark, s)


def _assert_schema(data: sources.Dataset, rows: int, width: int):
    fields = {f.name: f.dataType for f in data.frame.schema.fields}
    assert fields["label"].simpleString() == "double"
    assert isinstance(fields["features"], VectorUDT)
    assert data.rows == rows == data.frame.count()
    assert data.num_features == width


def _csv(path, rows, header=None):
    lines = ([",".join(header)] if header else []) + [",".join(map(str, r)) for r in rows]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_bundled_sample_is_scaled_and_subset(spark):
    data = _read(spark, limit=200)
    _assert_schema(data, 200, 784)
    assert data.image
    assert data.format == "mnist-sample"
    assert data.classes == [float(c) for c in range(10)]
    labels = {r.label for r in data.frame.select("label").distinct().collect()}
    assert len(labels) >= 8, "the seeded subset must not be the label-sorted head"
    top = max(float(r.features.toArray().max()) for r in data.frame.collect())
    assert 0.9 < top <= 1.0


def test_idx_gzip_images_and_labels(spark, tmp_path):
    images, labels = digits(12)
    img = write_idx(tmp_path / "train-images-idx3-ubyte.gz", images, compress=True)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", labels)
    data = _read(spark, data=str(img))
    _assert_schema(data, 12, 784)
    assert data.format == "idx"
    assert data.image
    got = {(r.label, round(float(r.features[4 * 28 + 10]), 3)) for r in data.frame.collect()}
    assert (0.0, 1.0) in got  # class 0's bar is at rows 4-7


def test_idx_count_mismatch(spark, tmp_path):
    images, labels = digits(6)
    img = write_idx(tmp_path / "a-images-idx3-ubyte", images)
    write_idx(tmp_path / "a-labels-idx1-ubyte", labels[:5])
    with pytest.raises(DataError, match=r"6 images but .* 5 labels"):
        _read(spark, data=str(img))


def test_idx_corrupt_file_is_named(spark, tmp_path):
    img = tmp_path / "b-images-idx3-ubyte"
    img.write_bytes(b"garbage!")
    write_idx(tmp_path / "b-labels-idx1-ubyte", np.zeros(1, np.uint8))
    with pytest.raises(DataError, match=r"b-images-idx3-ubyte.*bad magic"):
        _read(spark, data=str(img))


def test_csv_without_header_label_first(spark, tmp_path):
    path = _csv(tmp_path / "t.csv", [[0, 0.5, 1.0], [1, 0.25, 2.0], [1, 1.5, 0.0]])
    data = _read(spark, data=path)
    _assert_schema(data, 3, 2)
    assert not data.image
    assert data.classes == [0.0, 1.0]
    assert data.feature_names is None


def test_csv_with_header_is_read_as_columns(spark, tmp_path):
    path = _csv(tmp_path / "t.csv", [[0.5, 1, 3], [0.1, 0, 4]], header=["a", "y", "b"])
    data = sources.read(spark, settings(data=path, label_col="y"))
    assert isinstance(data, sources.TabularDataset)
    assert (data.columns, data.classes) == (["a", "b"], [0, 1])


def test_parquet_vector_and_plain_columns(spark, tmp_path):
    frame = pd.DataFrame({"label": [0, 1, 1], "x1": [0.1, 0.2, 0.3], "x2": [1, 2, 3]})
    spark.createDataFrame(frame).write.parquet(str(tmp_path / "plain.parquet"))
    data = sources.read(spark, settings(data=str(tmp_path / "plain.parquet")))
    assert isinstance(data, sources.TabularDataset)
    assert data.types == {"x1": "double", "x2": "long"}
    arrays = spark.createDataFrame(
        [(0.0, [0.1, 0.2]), (1.0, [0.3, 0.4])], "label double, f array<double>"
    )
    from pyspark.ml.functions import array_to_vector

    arrays.select("label", array_to_vector("f").alias("features")).write.parquet(
        str(tmp_path / "v")
    )
    _assert_schema(_read(spark, data=str(tmp_path / "v"), format="parquet"), 2, 2)


def test_libsvm(spark, tmp_path):
    (tmp_path / "d.libsvm").write_text("0 1:0.5 3:1.0\n1 2:0.25\n2 1:1\n")
    data = _read(spark, data=str(tmp_path / "d.libsvm"))
    _assert_schema(data, 3, 3)
    assert data.classes == [0.0, 1.0, 2.0]


def test_image_folders_use_the_shared_normalisation(spark, tmp_path):
    from artifacts.runtime.preprocess import to_mnist

    images, labels = digits(3)
    for i, (pixels, label) in enumerate(zip(images, labels, strict=True)):
        folder = tmp_path / "imgs" / str(label)
        folder.mkdir(parents=True)
        Image.fromarray(255 - pixels).convert("RGB").save(folder / f"{i}.png")  # dark on light
    data = _read(spark, data=str(tmp_path / "imgs"))
    _assert_schema(data, 3, 784)
    assert data.format == "images"
    assert data.image
    for row in data.frame.collect():
        label = int(row.label)
        expected = to_mnist(Image.open(tmp_path / "imgs" / str(label) / f"{label}.png"))
        np.testing.assert_allclose(row.features.toArray(), expected, atol=1e-6)


def test_unreadable_image_is_named(spark, tmp_path):
    folder = tmp_path / "imgs" / "3"
    folder.mkdir(parents=True)
    Image.new("L", (28, 28)).save(folder / "ok.png")
    (folder / "broken.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match=r"unreadable image file .*broken\.png"):
        _read(spark, data=str(tmp_path / "imgs"))


def test_non_numeric_folder_is_named(spark, tmp_path):
    folder = tmp_path / "imgs" / "cat"
    folder.mkdir(parents=True)
    Image.new("L", (28, 28)).save(folder / "x.png")
    with pytest.raises(DataError, match=r"folder name is not a numeric label .*cat/x\.png"):
        _read(spark, data=str(tmp_path / "imgs"))


@pytest.mark.parametrize(
    ("rows", "kw", "message"),
    [
        ([[0, 0.5], [1, "abc"], [1, 0.1]], {}, r"malformed row .*record 2 .*1,abc"),
        ([[0, 0.5], [1, "NaN"], [1, 0.1]], {}, r"NaN at record 2"),
        ([[0, 0.5], [7, 0.3], [1, 0.1]], {"classes": (0.0, 1.0)}, r"not in declared .*record 2"),
        ([[0, 0.5], [1.5, 0.3]], {}, r"non-negative integer at record 2"),
        ([[0, 0.5], [1, ""]], {}, r"missing value at record 2"),
        ([[0, 0.5], [1, 0.3]], {"as_image": True}, r"need 784 features"),
        ([[0, 2.5], [1, 0.3]], {"as_image": True}, r"need 784 features"),
    ],
)
def test_bad_csv_rows(spark, tmp_path, rows, kw, message):
    path = _csv(tmp_path / "bad.csv", rows)
    with pytest.raises(DataError, match=message) as exc:
        _read(spark, data=path, **kw)
    assert "bad.csv" in str(exc.value)


def test_pixel_range_is_checked_for_images(spark, tmp_path):
    row = [0] + [0.5] * 783 + [255]
    path = _csv(tmp_path / "px.csv", [row, [1] + [0.0] * 784])
    with pytest.raises(DataError, match=r"\[0, 1\].*--scale 255.*record 1"):
        _read(spark, data=path, as_image=True)
    assert _read(spark, data=path, as_image=True, scale=255.0).rows == 2


def test_empty_input(spark, tmp_path):
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match=r"empty\.csv: no rows"):
        _read(spark, data=str(tmp_path / "empty.csv"))


def test_missing_path(spark, tmp_path):
    with pytest.raises(DataError, match="cannot read"):
        _read(spark, data=str(tmp_path / "nope.parquet"))


def test_single_class_is_rejected(spark, tmp_path):
    with pytest.raises(DataError, match="only one class"):
        _read(spark, data=_csv(tmp_path / "one.csv", [[1, 0.5], [1, 0.2]]))


def test_unknown_format_asks_for_format(tmp_path):
    (tmp_path / "data.bin").write_bytes(b"x")
    with pytest.raises(UsageError, match="--format"):
        sources.detect(str(tmp_path / "data.bin"))
