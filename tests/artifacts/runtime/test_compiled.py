"""artifacts.runtime.compiled, as serving uses it: compiled tabular pipelines reproduce the
pipeline."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier, RandomForestRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import (
    LinearRegression,
    LogisticRegression,
    PoissonRegressor,
    TweedieRegressor,
)
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    MaxAbsScaler,
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    PolynomialFeatures,
    StandardScaler,
)
from sklearn.tree import DecisionTreeClassifier

from artifacts.runtime import Model, tabular
from artifacts.runtime.compiled import PROBA, compile_exact, compile_tabular, probe_frame
from tests.serving.conftest import (
    PENGUIN_COLUMNS,
    PENGUIN_ROW,
    PENGUIN_SCHEMA,
    penguin_frame,
    penguin_pipeline,
)

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    pytest.mark.filterwarnings("ignore:Found unknown categories:UserWarning"),
]

FRAME, SPECIES, TARGET = penguin_frame(300)
CATEGORICAL = [c for c in PENGUIN_COLUMNS if c.categorical]


def spark_style(final, scaler=None) -> Pipeline:
    """What spark_jobs.export.columns builds: constant imputers (one with a marker value),
    indexers with a keep bucket, one-hot over indices, booleans as ordinals, passthrough."""
    marker = Pipeline(
        [
            ("nulls", SimpleImputer(strategy="constant", fill_value=44.0)),
            ("marker", SimpleImputer(missing_values=-1.0, strategy="constant", fill_value=44.0)),
        ]
    )
    island = list(PENGUIN_COLUMNS[2].categories)
    keep = len(island)
    indexed = OrdinalEncoder(
        categories=[island],
        handle_unknown="use_encoded_value",
        unknown_value=keep,
        encoded_missing_value=keep,
    )
    one_hot = OneHotEncoder(
        categories=[np.arange(keep, dtype=np.float64)],  # dropLast: the keep bucket is zeros
        handle_unknown="ignore",
        sparse_output=False,
    )
    member = OrdinalEncoder(
        categories=[["false", "true"]],
        handle_unknown="use_encoded_value",
        unknown_value=np.nan,
        encoded_missing_value=np.nan,
    )
    columns = ColumnTransformer(
        [
            ("f0", marker, ["bill_length"]),
            ("f1", "passthrough", ["visits"]),
            ("f2", Pipeline([("s0", indexed), ("s1", one_hot)]), ["island"]),
            ("f3", OrdinalEncoder(categories=[["basic", "pro"]]), ["plan"]),
            ("f4", member, ["member"]),
        ],
        remainder="drop",
        sparse_threshold=0.0,
    )
    steps = [("columns", columns)] + ([("scale", scaler)] if scaler is not None else [])
    return Pipeline([*steps, ("model", final)])


def dropping(final) -> Pipeline:
    columns = ColumnTransformer(
        [
            ("num", SimpleImputer(strategy="median"), [0, 1]),  # positions, not names
            ("cat", OneHotEncoder(drop="first", handle_unknown="ignore"), [2, 3, 4]),
        ],
    )
    return Pipeline([("columns", columns), ("scale", MaxAbsScaler()), ("model", final)])


CLASSIFIERS = {
    "penguins-logistic": lambda: penguin_pipeline(LogisticRegression(max_iter=5000)),
    "spark-logistic": lambda: spark_style(LogisticRegression(max_iter=5000), MinMaxScaler()),
    "spark-tree": lambda: spark_style(DecisionTreeClassifier(max_depth=6, random_state=0)),
    "dropped-gbt": lambda: dropping(GradientBoostingClassifier(n_estimators=5, random_state=0)),
}
REGRESSORS = {
    "penguins-linear": lambda: penguin_pipeline(LinearRegression()),
    "spark-linear": lambda: spark_style(LinearRegression(), StandardScaler()),
    "spark-poisson": lambda: spark_style(PoissonRegressor(max_iter=300), StandardScaler()),
    "spark-tweedie": lambda: spark_style(TweedieRegressor(power=0), StandardScaler()),
    "dropped-forest": lambda: dropping(RandomForestRegressor(n_estimators=4, random_state=0)),
}


@pytest.fixture(scope="module")
def fitted() -> dict:
    models = {name: make().fit(FRAME, SPECIES) for name, make in CLASSIFIERS.items()}
    models |= {name: make().fit(FRAME, TARGET) for name, make in REGRESSORS.items()}
    models["binary-logistic"] = spark_style(LogisticRegression(max_iter=5000)).fit(
        FRAME, SPECIES == "Gentoo"
    )
    return models


@pytest.fixture(scope="module")
def compiled(fitted) -> dict:
    return {
        name: compile_tabular(model, PENGUIN_SCHEMA, task_of(name))
        for name, model in fitted.items()
    }


def task_of(name: str) -> str:
    return "regression" if name in REGRESSORS else "classification"


def reference(pipeline, frame: pd.DataFrame, output: str) -> np.ndarray:
    return np.asarray(getattr(pipeline, output)(frame))


def assert_same(compiled, pipeline, frame: pd.DataFrame) -> None:
    """The compiled output equals the pipeline's. It may defer (None) only a batch with gaps,
    which the pipeline then scores or refuses itself; such a batch is compared row by row."""
    got = compiled(frame)
    if got is not None:
        assert_close(got, reference(pipeline, frame, compiled.output), compiled.output)
        return
    assert frame.isna().any(axis=None), "the compiled path deferred a batch without gaps"
    for i in range(len(frame)):
        assert_same_row(compiled, pipeline, frame.iloc[[i]])


def assert_same_row(compiled, pipeline, row: pd.DataFrame) -> None:
    got = compiled(row)
    try:
        want = reference(pipeline, row, compiled.output)
    except ValueError:
        assert got is None
        return
    if got is None:
        assert row.isna().any(axis=None), "the compiled path deferred a row without gaps"
    else:
        assert_close(got, want, compiled.output)


def assert_close(got: np.ndarray, want: np.ndarray, output: str) -> None:
    if output == PROBA:
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)
        np.testing.assert_array_equal(got.argmax(axis=1), want.argmax(axis=1))
    elif want.dtype.kind == "f":
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)
    else:
        np.testing.assert_array_equal(got, want)


ALL = [*CLASSIFIERS, *REGRESSORS, "binary-logistic"]


@pytest.mark.parametrize("name", ALL)
def test_each_supported_shape_compiles_and_matches_on_probe_rows(fitted, name):
    compiled = compile_tabular(fitted[name], PENGUIN_SCHEMA, task_of(name))
    assert compiled is not None
    assert_same(compiled, fitted[name], probe_frame(PENGUIN_SCHEMA, seed=7))


def value(column):
    """Values a request may carry for a column after validation (frame form)."""
    if column.categorical:
        options = [*column.categories, *([None] if column.nullable else [])]
        if column.unseen == "keep" and column.type != "boolean":  # booleans are true/false
            options.append("never seen")
        return st.sampled_from(options)
    low, high = column.range
    number = st.floats(low - 100, high + 100, allow_nan=False)
    if column.type == "long":
        number = st.integers(int(low) - 50, int(high) + 50).map(float)
    return st.one_of(number, st.just(math.nan)) if column.nullable else number


ROWS = st.lists(st.fixed_dictionaries({c.name: value(c) for c in PENGUIN_COLUMNS}), min_size=1)


def frame_of(rows: list[dict]) -> pd.DataFrame:
    """Hypothesis rows as a frame in the schema's dtypes (categories as objects)."""
    return pd.DataFrame(
        {
            c.name: pd.Series([r[c.name] for r in rows], dtype=object if c.categorical else float)
            for c in PENGUIN_COLUMNS
        }
    )


@pytest.mark.parametrize("name", ALL)
@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=ROWS)
def test_random_frames_match_the_pipeline(fitted, compiled, name, rows):
    frame = frame_of(rows)
    assert_same(compiled[name], fitted[name], frame)


@pytest.fixture(scope="module")
def exact(fitted) -> dict:
    return {
        name: compile_exact(model, PENGUIN_SCHEMA, task_of(name)) for name, model in fitted.items()
    }


def assert_identical(got: np.ndarray, want: np.ndarray) -> None:
    assert (got.dtype, got.shape) == (want.dtype, want.shape)
    if got.dtype.kind == "f":
        assert got.tobytes() == want.tobytes()  # bit for bit, NaN payloads and signs included
    else:
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("name", ALL)
@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=ROWS)
def test_exact_scorer_gives_the_pipeline_bit_for_bit(fitted, exact, name, rows):
    """Batch scoring's path: the compiled transforms, then the final estimator's own method."""
    frame = frame_of(rows)
    scorer = exact[name]
    assert scorer is not None
    got = scorer(frame)
    if got is None:  # deferred: only a batch whose gaps reach the model; the rest is scored
        assert frame.isna().any(axis=None)
        finite = np.isfinite(scorer.compiled.features(frame)).all(axis=1)
        assert not finite.all()
        frame = frame[finite].reset_index(drop=True)
        if not len(frame):
            return
        got = scorer(frame)
    assert_identical(got, reference(fitted[name], frame, scorer.output))


def test_exact_scorer_needs_a_dense_matrix(caplog):
    sparse = Pipeline(
        [
            (
                "columns",
                ColumnTransformer(
                    [("cat", OneHotEncoder(handle_unknown="ignore"), ["island", "plan"])],
                    sparse_threshold=1.0,
                ),
            ),
            ("model", LogisticRegression(max_iter=5000)),
        ]
    ).fit(FRAME, SPECIES)
    assert compile_tabular(sparse, PENGUIN_SCHEMA, "classification") is not None
    with caplog.at_level("INFO", logger="artifacts.runtime.compiled"):
        assert compile_exact(sparse, PENGUIN_SCHEMA, "classification") is None
    assert "sparse" in caplog.text


def test_served_model_uses_it_with_batches_and_frames(fitted):
    manifest = {"input_schema": PENGUIN_SCHEMA.to_dict()}
    pipeline = fitted["spark-logistic"]
    model = Model.from_artifact("m", "1", pipeline, manifest)
    assert model.fast_path
    records = [
        {"bill_length": None, "visits": 2, "island": "Mars", "member": True, "plan": "pro"}
    ] * 3
    batch = tabular.from_records(records, PENGUIN_SCHEMA, lazy=True)
    frame = batch.to_frame()
    lazy, eager = model.predict(batch), model.predict(frame)
    np.testing.assert_array_equal(lazy.probabilities, eager.probabilities)
    np.testing.assert_allclose(lazy.probabilities, pipeline.predict_proba(frame), atol=1e-9)
    assert model.answers(lazy) == pipeline.predict(frame).tolist()


def unsupported(final):
    columns = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(), FunctionTransformer(np.log1p)), ["visits"]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["island", "member", "plan"]),
        ]
    )
    return Pipeline([("columns", columns), ("model", final)])


@pytest.mark.parametrize(
    "pipeline",
    [
        lambda: unsupported(LogisticRegression(max_iter=5000)),
        lambda: spark_style(LogisticRegression(max_iter=5000), PolynomialFeatures()),
    ],
    ids=["function-transformer", "polynomial-after-columns"],
)
def test_an_unrecognised_step_falls_back_to_the_pipeline(pipeline, caplog):
    estimator = pipeline().fit(FRAME, SPECIES)
    assert compile_tabular(estimator, PENGUIN_SCHEMA, "classification") is None
    model = Model.from_artifact("m", "1", estimator, {"input_schema": PENGUIN_SCHEMA.to_dict()})
    assert not model.fast_path
    batch = tabular.from_records([PENGUIN_ROW], PENGUIN_SCHEMA, lazy=True)
    expected = estimator.predict_proba(batch.to_frame())
    np.testing.assert_array_equal(model.predict(batch).probabilities, expected)


def test_a_tampered_encoder_fails_verification_and_falls_back(caplog):
    estimator = spark_style(LogisticRegression(max_iter=5000)).fit(FRAME, SPECIES)
    one_hot = estimator.named_steps["columns"].named_transformers_["f2"].steps[1][1]
    one_hot.drop_idx_ = np.array([1])  # what the compiler reads, not what sklearn applies
    with caplog.at_level("WARNING", logger="artifacts.runtime.compiled"):
        assert compile_tabular(estimator, PENGUIN_SCHEMA, "classification") is None
    assert "feature matrix differs" in caplog.text


def test_odd_encoders_are_refused():
    odd = penguin_pipeline(LogisticRegression(max_iter=5000)).fit(FRAME, SPECIES)
    odd.named_steps["columns"].named_transformers_["cat"].dtype = np.float32
    assert compile_tabular(odd, PENGUIN_SCHEMA, "classification") is None
    fitted_with_none = Pipeline(
        [
            ("columns", ColumnTransformer([("c", OrdinalEncoder(), ["island"])])),
            ("model", LogisticRegression(max_iter=5000)),
        ]
    ).fit(FRAME, SPECIES)  # None is one of the encoder's categories
    assert compile_tabular(fitted_with_none, PENGUIN_SCHEMA, "classification") is None

    class Shifted(OneHotEncoder):
        def transform(self, frame):
            return super().transform(frame) * 2.0

    shifted = penguin_pipeline(LogisticRegression(max_iter=5000))
    shifted.steps[0][1].transformers[1] = ("cat", Shifted(handle_unknown="ignore"), ["island"])
    shifted.fit(FRAME, SPECIES)
    assert compile_tabular(shifted, PENGUIN_SCHEMA, "classification") is None


def test_gaps_may_be_a_one_hot_category():
    with_none = Pipeline(
        [
            ("columns", ColumnTransformer([("c", OneHotEncoder(), ["island"])])),
            ("model", LogisticRegression(max_iter=5000)),
        ]
    ).fit(FRAME, SPECIES)
    compiled = compile_tabular(with_none, PENGUIN_SCHEMA, "classification")
    assert compiled is not None
    assert_same(compiled, with_none, probe_frame(PENGUIN_SCHEMA, seed=3))


def test_a_refusing_encoder_defers_that_request_to_the_pipeline(fitted):
    pipeline = fitted["spark-logistic"]  # plan's OrdinalEncoder refuses unknown values
    compiled = compile_tabular(pipeline, PENGUIN_SCHEMA, "classification")
    frame = probe_frame(PENGUIN_SCHEMA).iloc[:1].assign(plan="gold")
    assert compiled(frame) is None
    with pytest.raises(ValueError, match="unknown categories"):
        pipeline.predict_proba(frame)
