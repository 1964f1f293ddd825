"""Trees over categorical features (VectorIndexer, or StringIndexer's nominal metadata)
whose Spark splits send a scattered set of categories left: exported exactly through
derived membership features, proven against Spark's own transform."""

from __future__ import annotations

import re

import numpy as np
import pytest
from pyspark.ml import Pipeline
from pyspark.ml import classification as sc
from pyspark.ml import feature as sf
from pyspark.ml import regression as sr
from pyspark.ml.linalg import Vectors
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline as SkPipeline

from spark_jobs.export import UnsupportedStage, category_splits, export_model

from .helpers import final_step

pytestmark = pytest.mark.spark

RAW = [0.0, -2.0, 3.0, 7.0, 11.0, 15.0]  # VectorIndexer: 0 → 0, then ascending: -2 → 1, …
SCATTERED = {-2.0, 7.0, 15.0}  # indices {1, 3, 5}: neither a prefix nor a suffix
UNSEEN = [5.0, -7.0]


def _rows(n: int, seed: int, unseen: bool = False) -> list[tuple]:
    """(features = [category, x, flag], label, y): the label's rate is not monotone in the
    category's index, so Spark's best split is a scattered set."""
    rng = np.random.default_rng(seed)
    values = RAW + (UNSEEN if unseen else [])
    rows = []
    for i in range(n):
        category = values[i % len(values)] if unseen else float(rng.choice(RAW))
        x = float(rng.normal())
        flag = float(rng.integers(0, 2))
        hot = category in SCATTERED
        label = float(rng.random() < (0.85 if hot else 0.15) + 0.05 * np.tanh(x))
        y = 3.0 * hot + x + 0.5 * flag + float(rng.normal(0, 0.1))
        rows.append((Vectors.dense([category, x, flag]), label, y))
    return rows


@pytest.fixture(scope="module")
def categorical(spark):
    schema = ["features", "label", "y"]
    train = spark.createDataFrame(_rows(300, seed=1), schema).cache()
    test = spark.createDataFrame(_rows(60, seed=2), schema).cache()
    unseen = spark.createDataFrame(_rows(24, seed=3, unseen=True), schema)
    return train, test, test.unionByName(unseen).cache()


def _indexer(invalid: str) -> sf.VectorIndexer:
    return sf.VectorIndexer(
        inputCol="features", outputCol="indexed", maxCategories=8, handleInvalid=invalid
    )


MODELS = {
    "tree-keep": ("keep", lambda: sc.DecisionTreeClassifier(featuresCol="indexed", maxDepth=4)),
    "forest-error": (
        "error",
        lambda: sc.RandomForestClassifier(featuresCol="indexed", numTrees=5, maxDepth=3, seed=1),
    ),
    "gbt-keep": ("keep", lambda: sc.GBTClassifier(featuresCol="indexed", maxIter=5, maxDepth=3)),
    "regression-tree-error": (
        "error",
        lambda: sr.DecisionTreeRegressor(featuresCol="indexed", labelCol="y", maxDepth=4),
    ),
}


@pytest.fixture(scope="module", params=sorted(MODELS))
def fitted(request, categorical):
    invalid, make = MODELS[request.param]
    train, test, with_unseen = categorical
    model = Pipeline(stages=[_indexer(invalid), make()]).fit(train)
    sample = with_unseen if invalid == "keep" else test
    return request.param, model, sample, export_model(model, sample)


def _scattered_sets(model) -> list[list[int]]:
    """Categorical left sets in Spark's own tree dump with a gap (so neither a prefix nor
    a suffix of the category indices)."""
    sets = []
    for text in re.findall(r"feature \d+ in \{([\d.,]*)\}", model.toDebugString):
        left = sorted(int(float(v)) for v in text.split(",") if v)
        if left and left != list(range(left[0], left[-1] + 1)):
            sets.append(left)
    return sets


def test_scattered_categorical_splits_export_exactly(fitted):
    name, model, _, result = fitted
    assert _scattered_sets(model.stages[-1]), f"{name}: Spark made no scattered split to test"

    parity = result.parity
    assert parity["passed"] is True
    if "max_proba_error" in parity:
        assert parity["label_agreement"] == 1.0
        assert parity["max_proba_error"] <= 1e-9
    else:
        assert parity["max_error"] <= 1e-9
    final = final_step(result.estimator)
    assert isinstance(final, SkPipeline)
    assert isinstance(final[0], ColumnTransformer)  # the derived membership columns


def test_vector_indexer_step_is_spark_indexing(fitted):
    _, model, sample, result = fitted
    rows = model.stages[0].transform(sample).select("features", "indexed").collect()
    x = np.vstack([r["features"].toArray() for r in rows])
    spark_indexed = np.vstack([r["indexed"].toArray() for r in rows])
    mapping = model.stages[0].categoryMaps[0]
    assert [mapping[v] for v in sorted(mapping)] != list(range(len(RAW)))  # not value order

    np.testing.assert_array_equal(result.estimator[0].transform(x), spark_indexed)


def test_vector_indexer_error_mode_raises_on_unseen_values(fitted):
    _, model, _, result = fitted
    if model.stages[0].getHandleInvalid() != "error":
        pytest.skip("keep mode maps unseen values to the extra bucket")

    with pytest.raises(ValueError, match="unknown categories"):
        result.estimator[0].transform(np.array([[UNSEEN[0], 0.0, 1.0]]))


def test_vector_indexer_skip_is_refused(categorical):
    train, test, _ = categorical
    indexer = _indexer("skip").fit(train)
    tree = sc.DecisionTreeClassifier(featuresCol="indexed", maxDepth=2).fit(
        indexer.transform(train)
    )

    with pytest.raises(UnsupportedStage, match=r"VectorIndexerModel\(uid=\w+\): handleInvalid"):
        export_model(Pipeline(stages=[indexer, tree]).fit(train), test)


COLOURS = ["red", "green", "blue", "cyan", "pink", "grey"]


def test_string_indexer_nominal_feature_tree(spark):
    """StringIndexer → assembler (no one-hot) → tree: the index is nominal to Spark."""
    rng = np.random.default_rng(5)
    hot = {"green", "cyan", "grey"}
    rows = []
    for _ in range(300):
        colour = str(rng.choice(COLOURS, p=[0.3, 0.25, 0.2, 0.12, 0.08, 0.05]))
        x = float(rng.normal())
        rows.append((colour, x, float(rng.random() < (0.85 if colour in hot else 0.15))))
    df = spark.createDataFrame(rows, "colour string, x double, label double")
    pipeline = Pipeline(
        stages=[
            sf.StringIndexer(inputCol="colour", outputCol="colour_idx", handleInvalid="keep"),
            sf.VectorAssembler(inputCols=["colour_idx", "x"], outputCol="features"),
            sc.DecisionTreeClassifier(maxDepth=4),
        ]
    )
    model = pipeline.fit(df)
    assert _scattered_sets(model.stages[-1])

    result = export_model(model, df.limit(80))

    assert result.parity["passed"] is True
    assert result.parity["label_agreement"] == 1.0
    assert result.parity["max_proba_error"] <= 1e-9


@pytest.mark.parametrize(
    ("left", "k", "expected"),
    [
        ([0, 1], 5, None),  # prefix: a threshold on the index
        ([3, 4], 5, None),  # suffix: the same, children swapped
        ([1], 2, None),  # a one-hot feature's {1}
        ([0, 2], 5, (0, 2)),
        ([1, 3], 5, (1, 3)),
        ([1, 2], 5, (1, 2)),  # contiguous but neither end
    ],
)
def test_which_splits_need_a_membership_column(left, k, expected):
    split = {"featureIndex": 2, "numCategories": k, "leftCategoriesOrThreshold": left}

    found = category_splits.scattered(split)

    assert (found.left if found else None) == expected


def test_membership_column_sends_exactly_the_left_set_left():
    split = category_splits.MembershipSplit(feature=1, categories=6, left=(1, 3, 5))
    step = category_splits.derived_features(2, [split])
    index = np.array([0, 1, 2, 3, 4, 5, 6, -1, np.nan, 2.5])
    x = np.column_stack([np.arange(len(index), dtype=float), index])

    out = step.transform(x)

    np.testing.assert_array_equal(out[:, :2], x)
    in_left = np.isin(index, [1, 3, 5])  # Spark: left iff the index is in the set
    np.testing.assert_array_equal(out[:, 2] <= category_splits.DERIVED_THRESHOLD, in_left)
