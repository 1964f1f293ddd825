"""Printed digits: unseen faces only, MNIST form, deterministic, the right label, on Spark."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spark_jobs.settings import IMAGE_PRINTED, JobSettings
from spark_jobs.train import printed
from tests.support import client_images


def test_no_face_is_one_the_real_client_bench_tests_on():
    """The bench draws its font digits from DejaVu: training on it would be training on the
    test set."""
    assert not [face for face in printed.FACES if "dejavu" in face.lower()]
    assert not set(printed.FACES) & set(client_images.FONT_FACES)


def test_every_face_file_is_shipped_with_matplotlib():
    files = [face for face in printed.FACES if face != printed.PILLOW_DEFAULT]
    assert files
    for face in files:
        assert (printed.font_dir() / face).is_file(), face


def test_glyph_is_an_mnist_row_and_repeats_for_its_seed():
    first = printed.glyph(3, 7, 5)
    assert first.shape == (784,)
    assert first.dtype == np.float32
    assert first.min() >= 0.0
    assert first.max() <= 1.0
    np.testing.assert_array_equal(first, printed.glyph(3, 7, 5))
    assert not np.array_equal(first, printed.glyph(4, 7, 5)), "another seed, another glyph"


def _ink_box(row: np.ndarray) -> tuple[int, int]:
    """(height, width) of the pixels above half ink."""
    image = row.reshape(28, 28)
    rows = np.flatnonzero(image.max(axis=1) > 0.5)
    cols = np.flatnonzero(image.max(axis=0) > 0.5)
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


def test_glyphs_are_fitted_to_the_mnist_box_in_every_face():
    """``to_mnist`` scales the longer side to 20 px: digits are upright, so that is the height;
    a 1 is narrow, a 0 is not."""
    widths = {0: [], 1: []}
    for index, face in enumerate(printed.FACES):
        for digit in range(10):
            height, width = _ink_box(printed.glyph(0, digit, index))
            assert 18 <= height <= 21, (face, digit, height)
            assert width <= height, (face, digit, width)
            widths.get(digit, []).append(width)
    assert np.mean(widths[1]) < np.mean(widths[0]) - 2  # the foot serif makes some 1s wide


def test_each_glyph_reads_as_its_own_digit():
    """Leave-one-face-out nearest centroid: a glyph is closest to its own digit's mean. With the
    stroke weight held fixed (it varies more than the digits do), so the label is what counts."""
    from artifacts.runtime.preprocess import to_mnist

    plain, faces = printed.Style(strokes=(0,)), printed.FACES

    def row(digit: int, index: int) -> np.ndarray:
        rng = printed.glyph_rng(0, digit, index)
        return to_mnist(printed.render(digit, faces[index], rng, plain))

    rows = {(d, i): row(d, i) for d in range(10) for i in range(len(faces))}
    hits = []
    for held_out in range(len(faces)):
        others = [i for i in range(len(faces)) if i != held_out]
        centroids = np.stack([np.mean([rows[d, i] for i in others], axis=0) for d in range(10)])
        for digit in range(10):
            distances = np.linalg.norm(centroids - rows[digit, held_out], axis=1)
            hits.append(int(np.argmin(distances)) == digit)
    assert np.mean(hits) >= 0.85


def test_render_batch_labels_rows_by_digit_and_index():
    batch = printed.render_batch(pd.Series([0, 1, 2, 3, 4]), (1, 7), seed=9)
    assert batch.label.tolist() == [1.0, 7.0, 1.0, 7.0, 1.0]
    np.testing.assert_array_equal(batch.features[3], printed.glyph(9, 7, 1))
    assert batch._key.tolist() == [printed.row_key(9, d, i) for d, i in
                                   [(1, 0), (7, 0), (1, 1), (7, 1), (1, 2)]]  # fmt: skip
    assert batch._key.nunique() == 5


@pytest.mark.parametrize(
    ("classes", "digits"),
    [
        ([float(c) for c in range(10)], tuple(range(10))),
        ([0.0, 1.0, 2.0], (0, 1, 2)),
        ([3.0, 11.0, 2.5, -1.0], (3,)),
    ],
)
def test_only_digit_classes_get_glyphs(classes, digits):
    assert printed.digit_classes(classes) == digits


@pytest.mark.spark
def test_spark_frame_equals_the_local_rendering_whatever_the_partitions(spark):
    one = printed.frame(spark, (0, 1, 2), 2, seed=5, partitions=1).collect()
    three = printed.frame(spark, (0, 1, 2), 2, seed=5, partitions=3).collect()
    assert len(one) == 6
    assert sorted(r.label for r in one) == [0.0, 0.0, 1.0, 1.0, 2.0, 2.0]
    local = printed.render_batch(pd.Series(range(6)), (0, 1, 2), seed=5)
    by_key = {r._key: r.features.toArray() for r in three}
    for key, features in zip(local._key, local.features, strict=True):
        np.testing.assert_array_equal(by_key[key], features)
    assert {r._key for r in one} == set(by_key)


@pytest.mark.spark
@pytest.mark.slow
def test_the_job_adds_glyphs_to_the_training_split_only_and_records_them(spark, hmac_key, tmp_path):
    import artifacts
    from spark_jobs.train.job import run

    settings = JobSettings(
        model="mlp", layers=(8,), max_iter=10, limit=300, augment=2, printed=2,
        output=str(tmp_path), version="printed", signing_key=str(hmac_key),
    )  # fmt: skip
    manifest = artifacts.verify(run(settings, spark=spark), artifacts.load_verifier(hmac_key))
    rows, params = manifest["lineage"]["rows"], manifest["lineage"]["params"]
    assert (params["printed"], rows["train_printed"]) == (2, 20)
    assert rows["train_augmented"] == 2 * (rows["train"] + 20)
    assert rows["train"] + rows["validation"] + rows["test"] == 300, "held-out splits stay MNIST"


@pytest.mark.parametrize(
    ("fmt", "expected"), [("mnist-sample", IMAGE_PRINTED), ("idx", 0), ("images", 0)]
)
def test_by_default_only_the_mnist_sample_gets_printed_digits(fmt, expected):
    """Other 28x28 data may label 0-9 as anything (Fashion-MNIST's garments): glyphs of digits
    would be wrong rows there, so they are added only when asked for."""
    from spark_jobs.sources import Dataset
    from spark_jobs.train.vector import _resolve

    classes = [float(c) for c in range(10)]
    data = Dataset(frame=None, source="x", format=fmt, image=True, classes=classes,
                   num_features=784, min_value=0.0, feature_names=None, rows=10)  # fmt: skip
    assert _resolve(JobSettings(), data).printed == expected
    assert _resolve(JobSettings(printed=5), data).printed == 5
