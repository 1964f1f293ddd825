"""Every converter through one harness: fit, add edge rows, export, compare with Spark.

The expected answer for every row is Spark's own ``transform``; the comparison here is
independent of the exporter's parity check (which must also pass: ``export_model`` raises
otherwise). See ``contract.py`` for the cases and their edge rows.
"""

from __future__ import annotations

import numpy as np
import pytest
from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.linalg import Vectors

from artifacts.schema import CLASSIFICATION, CLUSTERING
from spark_jobs.export import export_model, registry
from spark_jobs.export.frame import to_frame
from spark_jobs.export.parity import rows_to_matrix
from spark_jobs.export.plan import flatten

from . import contract
from .helpers import mixed_split
from .text_rows import SCHEMA as TEXT_SCHEMA
from .text_rows import documents

pytestmark = pytest.mark.spark

EXPORTABLE = (
    registry.CLASSIFIER,
    registry.REGRESSOR,
    registry.CLUSTERER,
    registry.VECTOR,
    registry.COLUMN,
    registry.STRUCTURE,
)


def test_every_registered_class_has_a_contract_case():
    covered = {cls for case in contract.CASES for cls in case.covers}
    missing = [e.spark.__name__ for e in registry.ENTRIES if e.role in EXPORTABLE]
    missing = [name for name in missing if name not in {c.__name__ for c in covered}]
    assert missing == [], f"add a case to tests/spark_jobs/export/contract.py for {missing}"


@pytest.fixture(scope="module")
def mixed(spark):
    return mixed_split(spark, n=200, n_test=50, seed=11)


@pytest.fixture(scope="module")
def texts(spark):
    train = spark.createDataFrame(documents(120, seed=5), TEXT_SCHEMA).cache()
    test = spark.createDataFrame(documents(30, seed=6), TEXT_SCHEMA).cache()
    return train, test


def _vector_frames(spark, kind: str):
    x, y = contract.vector_data(kind)
    rows = [(Vectors.dense(r.tolist()), float(v)) for r, v in zip(x, y, strict=True)]
    train = spark.createDataFrame(rows[40:], ["features", "label"])
    return train, x[:40], y[:40]


def _fit_vector_case(spark, case: contract.Case):
    train, x_test, y_test = _vector_frames(spark, case.data)
    fitted = Pipeline(stages=case.stages()).fit(train)
    extra = contract.edge_rows(case.data, case.edges, x_test[0])
    if "ties" in case.edges:
        extra += contract.tie_rows(fitted, x_test[0])
    x_all = np.vstack([x_test, *extra]) if extra else x_test
    y_all = np.concatenate([y_test, np.resize(y_test, len(extra))])
    sample = spark.createDataFrame(
        [(Vectors.dense(r.tolist()), float(v)) for r, v in zip(x_all, y_all, strict=True)],
        ["features", "label"],
    )
    return fitted, sample, {}


def _fit_column_case(request, case: contract.Case):
    recipe = case.stages()
    if case.data == "text":
        train, test = request.getfixturevalue("texts")
    else:
        split = request.getfixturevalue("mixed")
        train, test = split.train, split.test
    pipeline, label = contract.column_pipeline(recipe)
    fitted = pipeline.fit(train)
    if recipe == "decoded":
        fitted = PipelineModel(stages=[*fitted.stages, contract.decoded_stage(fitted)])
    return fitted, test, {"label_col": label}


def _spark_answers(fitted, result, sample) -> tuple[np.ndarray, np.ndarray]:
    """(what the export predicts, what Spark predicted) for every sample row."""
    final = [s for s in flatten(fitted) if s.hasParam("predictionCol")][-1]
    prediction = final.getPredictionCol()
    scored = fitted.transform(sample)
    if result.input_schema is not None and result.input_schema.kind == "tabular":
        frame, rows = to_frame(scored, result.input_schema, keep=[prediction])
        ours = result.estimator.predict(frame)
    else:
        rows = scored.collect()
        ours = result.estimator.predict(rows_to_matrix(rows, result.input_cols))
    theirs = np.array([row[prediction] for row in rows])
    return np.asarray(ours), theirs


@pytest.mark.parametrize("case", contract.CASES, ids=lambda c: c.name)
def test_converter_contract(request, spark, case):
    if case.data in ("mixed", "text"):
        fitted, sample, options = _fit_column_case(request, case)
    else:
        fitted, sample, options = _fit_vector_case(spark, case)
    present = {type(stage) for stage in flatten(fitted)}
    assert set(case.covers) <= present, f"{case.name} does not exercise {case.covers}"

    result = export_model(fitted, sample, **options)  # raises ParityError on any mismatch

    assert result.parity["passed"] is True
    ours, theirs = _spark_answers(fitted, result, sample)
    task = result.output_schema.task
    if task == CLASSIFICATION:  # Spark predicts class indices; the export, the labels
        np.testing.assert_array_equal(ours, np.asarray(result.classes)[theirs.astype(int)])
    elif task == CLUSTERING:
        np.testing.assert_array_equal(ours, theirs.astype(int))
    else:
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-9)
