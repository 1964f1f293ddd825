"""Tabular pipelines: column stages → ColumnTransformer, frame form, schema, classifiers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from pyspark.ml import Pipeline
from pyspark.ml import classification as sc
from pyspark.ml import feature as sf
from sklearn import ensemble, linear_model, tree
from sklearn.compose import ColumnTransformer

from spark_jobs.export import UnsupportedStage, export_model
from spark_jobs.export.frame import to_frame

from .helpers import COLOURS, final_step, tabular_pipeline

pytestmark = pytest.mark.spark


def _spark_vectors(model, df, column="features") -> np.ndarray:
    return np.vstack([r[column].toArray() for r in model.transform(df).collect()])


def _edge_frame(result, rows: list[dict]) -> pd.DataFrame:
    """Frame-form rows (a dict per row, missing keys → gap) for the exported schema."""
    data = {}
    for column in result.input_schema.columns:
        values = [row.get(column.name) for row in rows]
        if column.categorical:
            data[column.name] = pd.Series(values, dtype=object)
        else:
            data[column.name] = pd.Series([math.nan if v is None else v for v in values])
    return pd.DataFrame(data)


CLASSIFIERS = [
    ("lr", lambda: sc.LogisticRegression(labelCol="k", maxIter=20),
     linear_model.LogisticRegression),
    ("rf", lambda: sc.RandomForestClassifier(labelCol="k", numTrees=4, maxDepth=4, seed=1),
     ensemble.RandomForestClassifier),
    ("gbt", lambda: sc.GBTClassifier(labelCol="k", maxIter=5, maxDepth=3, seed=2),
     ensemble.GradientBoostingClassifier),
    ("dt-scaled", lambda: sc.DecisionTreeClassifier(labelCol="k", maxDepth=4),
     tree.DecisionTreeClassifier),
]  # fmt: skip


@pytest.mark.parametrize(("factory", "expected"), [c[1:] for c in CLASSIFIERS],
                         ids=[c[0] for c in CLASSIFIERS])  # fmt: skip
def test_classifier_parity_on_a_tabular_pipeline(mixed, factory, expected):
    scaled = expected.__name__ == "DecisionTreeClassifier"
    model = tabular_pipeline(factory(), scaler=scaled, extra=("flag",)).fit(mixed.train)

    result = export_model(model, mixed.test, label_col="k")

    assert type(final_step(result.estimator)) is expected
    assert isinstance(result.estimator[0], ColumnTransformer)
    assert result.parity["passed"] is True
    assert result.parity["label_agreement"] == 1.0
    assert result.parity["max_proba_error"] <= 1e-6
    assert min(result.parity["edge_rows"].values()) > 0
    assert result.classes == [0, 1]
    assert result.output_schema.classes == (0, 1)
    assert result.input_cols == ["colour", "size", "count", "flag"]


def test_trees_split_one_hot_features_as_categories_and_still_export(mixed):
    """OneHotEncoder marks its outputs binary, so Spark's trees split them categorically."""
    model = tabular_pipeline(sc.DecisionTreeClassifier(labelCol="k", maxDepth=6)).fit(mixed.train)
    assert "in {" in model.stages[-1].toDebugString  # a categorical split exists

    result = export_model(model, mixed.test, label_col="k")

    assert result.parity["passed"] is True


def test_string_labels_through_a_label_indexer(mixed):
    stages = tabular_pipeline(sc.LogisticRegression(maxIter=20)).getStages()
    model = Pipeline(stages=[sf.StringIndexer(inputCol="s", outputCol="label"), *stages]).fit(
        mixed.train
    )

    result = export_model(model, mixed.test, label_col="s")

    assert sorted(result.classes) == ["no", "yes"]
    assert result.output_schema.label == "s"
    frame, _ = to_frame(mixed.test, result.input_schema)
    assert set(result.estimator.predict(frame)) <= {"no", "yes"}


def test_multiclass_lr_on_wine(wine):
    names = [c for c in wine.train.columns if c != "target"]
    model = tabular_pipeline(
        sc.LogisticRegression(labelCol="target", maxIter=30), numeric=tuple(names),
        categorical=(), scaler=True,
    ).fit(wine.train)  # fmt: skip

    result = export_model(model, wine.test, label_col="target")

    assert result.parity["passed"] is True
    assert result.classes == [0, 1, 2]
    assert result.parity["edge_rows"]["missing_numeric"] >= len(names)


@pytest.mark.parametrize("strategy", ["mean", "median", "mode"])
def test_imputer_strategies_copy_spark_surrogates(mixed, strategy):
    model = tabular_pipeline(
        sc.LogisticRegression(labelCol="k", maxIter=10), strategy=strategy
    ).fit(mixed.train)

    result = export_model(model, mixed.test, label_col="k")

    surrogates = model.stages[0].surrogateDF.first()
    imputers = result.estimator[0].named_transformers_
    assert imputers["f0"].statistics_[0] == surrogates["size"]
    assert imputers["f1"].statistics_[0] == math.trunc(surrogates["count"])  # long column
    frame = _edge_frame(result, [{"colour": "rot", "flag": True}])
    ours = result.estimator[0].transform(frame)[0]
    assert ours[0] == surrogates["size"]
    assert result.parity["passed"] is True


@pytest.mark.parametrize("drop_last", [True, False])
def test_one_hot_keep_bucket_matches_spark(spark, mixed, drop_last):
    model = tabular_pipeline(
        sc.LogisticRegression(labelCol="k", maxIter=10), drop_last=drop_last
    ).fit(mixed.train)
    result = export_model(model, mixed.test, label_col="k")
    labels = list(model.stages[1].labelsArray[0])
    cases = spark.createDataFrame(
        [(c, 10.0, 3, True) for c in labels] + [(None, 10.0, 3, True), ("neu", 10.0, 3, True)],
        "colour string, size double, count long, flag boolean",
    )
    spark_x = _spark_vectors(_up_to_assembler(model), cases)
    frame, _ = to_frame(cases, result.input_schema)

    ours = result.estimator[0].transform(frame)

    np.testing.assert_array_equal(ours, spark_x)
    width = len(labels) + (0 if drop_last else 1)
    assert ours.shape[1] == 2 + width
    one_hot = ours[-2:, 2:]  # missing, unseen → Spark's keep bucket
    expected = np.zeros(width) if drop_last else np.eye(width)[-1]
    np.testing.assert_array_equal(one_hot, [expected, expected])


def _up_to_assembler(model):
    """The fitted pipeline up to (and including) its VectorAssembler."""
    from pyspark.ml import PipelineModel

    return PipelineModel(stages=model.stages[:-1])


def test_indexer_with_error_policy_refuses_unseen_values(mixed):
    model = tabular_pipeline(sc.LogisticRegression(labelCol="k", maxIter=10), invalid="error").fit(
        mixed.train.dropna(subset=["colour"])
    )

    result = export_model(model, mixed.test.dropna(subset=["colour"]), label_col="k")

    assert result.parity["passed"] is True
    assert result.parity["edge_rows"]["missing_numeric"] > 0
    assert result.parity["edge_rows"]["unseen_category"] == 0  # Spark would fail on one
    colour = result.input_schema.column("colour")
    assert colour.unseen == "error"
    with pytest.raises(ValueError, match="unknown categor"):
        result.estimator.predict(_edge_frame(result, [{"colour": "neu", "flag": True}]))


def test_string_indexer_skip_is_refused_by_name(mixed):
    model = tabular_pipeline(sc.LogisticRegression(labelCol="k", maxIter=5), invalid="skip").fit(
        mixed.train
    )

    with pytest.raises(UnsupportedStage, match=r"StringIndexerModel.*handleInvalid='skip'"):
        export_model(model, mixed.test, label_col="k")


def test_input_schema_is_typed_from_spark_and_the_indexers(mixed):
    model = tabular_pipeline(sc.LogisticRegression(labelCol="k", maxIter=5), extra=("flag",)).fit(
        mixed.train
    )

    result = export_model(model, mixed.test, label_col="k", schema_df=mixed.train)

    schema = {c.name: c for c in result.input_schema.columns}
    assert [schema[n].type for n in ("colour", "size", "count", "flag")] == [
        "string", "double", "long", "boolean",
    ]  # fmt: skip
    assert schema["colour"].categories == tuple(model.stages[1].labelsArray[0])
    assert set(schema["colour"].categories) == set(COLOURS)
    assert schema["colour"].unseen == "keep"
    assert schema["colour"].nullable
    assert schema["flag"].categories == ("false", "true")
    assert not schema["flag"].nullable
    assert schema["size"].nullable
    assert schema["count"].nullable
    assert schema["size"].categories is None
    assert schema["size"].range[0] < schema["size"].range[1]
    assert not math.isnan(schema["size"].range[1])  # NaN rows are gaps, not the maximum
    doc = result.input_schema.to_dict()
    assert doc["type"] == "tabular"


def test_empty_string_is_a_category_not_a_gap(mixed):
    stages = [
        sf.StringIndexer(inputCol="tag", outputCol="tag_idx", handleInvalid="keep"),
        sf.VectorAssembler(inputCols=["tag_idx", "flag"], outputCol="features"),
        sc.LogisticRegression(labelCol="k", maxIter=5),
    ]
    model = Pipeline(stages=stages).fit(mixed.train)

    result = export_model(model, mixed.test, label_col="k")

    assert "" in result.input_schema.column("tag").categories
    assert result.parity["passed"] is True
    frame = _edge_frame(result, [{"tag": "", "flag": True}, {"tag": None, "flag": True}])
    indices = result.estimator[0].transform(frame)[:, 0]
    labels = list(model.stages[0].labelsArray[0])
    assert list(indices) == [labels.index(""), len(labels)]


def test_frame_form_casts_like_spark(spark):
    from artifacts.schema import Column, InputSchema

    df = spark.createDataFrame(
        [(True, 1e10, 3, None), (None, float("nan"), None, "x")],
        "b boolean, d double, n long, s string",
    )
    schema = InputSchema.tabular(
        [
            Column("b", "boolean", categories=("false", "true")),
            Column("d", "double", categories=("1.0E10",)),
            Column("n", "long"),
            Column("s", "string", categories=("x",)),
        ]
    )

    frame, _ = to_frame(df, schema)

    assert frame["b"].tolist() == ["true", None]
    assert frame["d"].tolist() == ["1.0E10", "NaN"]
    assert frame["n"].dtype == np.float64
    assert frame["n"].iloc[0] == 3.0
    assert math.isnan(frame["n"].iloc[1])
    assert frame["s"].tolist() == [None, "x"]
    assert frame["s"].dtype == object


def test_multi_column_indexer_with_a_long_column_as_category(mixed):
    """StringIndexer(inputCols=[…]) over a string and a long column (Spark casts 3 → "3")."""
    model = tabular_pipeline(
        sc.LogisticRegression(labelCol="k", maxIter=10), numeric=("size",),
        categorical=("colour", "count"),
    ).fit(mixed.train)  # fmt: skip

    result = export_model(model, mixed.test, label_col="k")

    count = result.input_schema.column("count")
    assert count.type == "long"
    assert count.categories == tuple(model.stages[1].labelsArray[1])
    assert all(c.isdigit() for c in count.categories)
    assert count.range is None
    assert result.parity["passed"] is True
    assert result.parity["edge_rows"]["unseen_category"] >= 2  # one per indexed column


def test_schema_types_come_from_schema_df_when_the_pipeline_reads_strings(mixed):
    """The training job casts booleans to "true"/"false" for the StringIndexer and passes
    its data in source types as ``schema_df``: the schema column stays boolean."""
    from pyspark.sql import functions as F  # noqa: N812

    def as_text(df):
        return df.withColumn("flag", F.col("flag").cast("string"))

    model = tabular_pipeline(
        sc.LogisticRegression(labelCol="k", maxIter=10), categorical=("colour", "flag")
    ).fit(as_text(mixed.train))

    result = export_model(model, as_text(mixed.test), label_col="k", schema_df=mixed.train)

    flag = result.input_schema.column("flag")
    assert flag.type == "boolean"
    assert set(flag.categories) == {"true", "false"}
    assert result.parity["passed"] is True
