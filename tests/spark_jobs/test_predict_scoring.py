"""spark_jobs.predict.scoring on Arrow record batches, without Spark: what a batch writes.

The job scores in ``mapInArrow``; these tests call its batch function directly on typed Arrow
batches with bad rows, and check the result against the pipeline's own ``predict_proba`` /
``predict`` bit for bit, with and without the exact compiled scorer, under each policy.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from artifacts import OutputSchema
from artifacts.runtime import Model, tabular
from spark_jobs.errors import DataError
from spark_jobs.predict import scoring
from tests.support.predict_rows import SCHEMA, pipeline, table

LIST = pa.list_(pa.field("element", pa.float64(), nullable=False))
BAD = {3: "visits", 8: "bill", 11: "island", 12: "visits"}  # row → the column made bad in it


@pytest.fixture(scope="module")
def models() -> dict:
    from sklearn.linear_model import LinearRegression, LogisticRegression

    frame = tabular.conform(table(300, seed=1).drop(columns="id"), SCHEMA)
    bill = frame["bill"].fillna(45.0).to_numpy()
    species = np.where(bill > 45, "Gentoo", np.where(frame["island"] == "Dream", "Chin", "Ad"))
    return {
        "classification": pipeline(LogisticRegression(max_iter=500)).fit(frame, species),
        "regression": pipeline(LinearRegression()).fit(frame, 2.0 * bill),
    }


def batch(n: int = 40) -> pa.RecordBatch:
    """Typed columns as Spark sends them, with a null, a fraction, an infinity and an unseen
    category where the schema refuses them (visits is non-nullable; island refuses unseen)."""
    raw = table(n, seed=4)
    visits = raw["visits"].to_numpy(dtype=np.float64, copy=True)
    visits[[3, 12]] = [np.nan, 2.5]
    bill = raw["bill"].to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    bill[8] = np.inf
    island = raw["island"].tolist()
    island[11] = "Mars"
    return pa.RecordBatch.from_pydict(
        {
            "id": pa.array(raw["id"], pa.int64()),
            "bill": pa.array(bill),  # NaN stands for a null double here, as from_pandas reads it
            "visits": pa.array(visits, from_pandas=True),
            "island": pa.array(island, pa.string(), from_pandas=True),
            "member": pa.array(raw["member"], pa.bool_()),
        }
    )


def plan(task: str, classes: tuple, on_error: str, probability_columns: tuple = ()):
    schema = SCHEMA.to_dict()
    island = next(c for c in schema["columns"] if c["name"] == "island")
    island["unseen"] = "error"
    classification = task == "classification"
    result_types = {"prediction": pa.string() if classification else pa.float64()}
    result_types |= {"probability": LIST, **dict.fromkeys(probability_columns, pa.float64())}
    result_types |= {"model_name": pa.string(), "model_version": pa.string()}
    outputs = OutputSchema(task, classes=classes if classification else None)
    manifest = {"input_schema": schema, "output_schema": outputs.to_dict()}
    return scoring.Plan(
        digest="d", payload=None, framework={}, skew_policy="warn", kind=scoring.TABULAR,
        manifest=manifest, features=("bill", "visits", "island", "member"), keep=("id",),
        text=False, task=task, labels=classes, probability_array=classification,
        probability_columns=probability_columns, on_error=on_error, model_name="m",
        model_version="3", result_types=result_types,
    )  # fmt: skip


def expected(model, task: str, rows: pa.RecordBatch) -> np.ndarray:
    """The pipeline's own output on the good rows, through the per-value validator."""
    columns = {name: rows.column(name).to_pylist() for name in ("bill", "visits", "island")}
    columns["member"] = rows.column("member").to_pylist()
    frame = tabular.from_columns(columns, SCHEMA)
    return model.predict_proba(frame) if task == "classification" else model.predict(frame)


def score(the_plan, model, rows, fast: bool):
    opened = Model.from_artifact(
        the_plan.model_name, the_plan.model_version, model, the_plan.manifest, exact=True,
        compiled=fast,
    )  # fmt: skip
    if fast:
        assert opened.fast_path
    return scoring.score_batch(the_plan, opened, rows, 0)


@pytest.mark.parametrize("fast", [True, False], ids=["exact-compiled", "pipeline"])
@pytest.mark.parametrize("task", ["classification", "regression"])
def test_null_policy_writes_every_row_bad_ones_null(models, task, fast):
    model = models[task]
    classes = tuple(model.classes_.tolist()) if task == "classification" else ()
    names = tuple(f"probability_{c}" for c in classes)
    the_plan = plan(task, classes, "null", names)
    rows = batch()
    out = score(the_plan, model, rows, fast)
    assert out.schema.names == ["id", "prediction", *(["probability"] if classes else []),
                                *names, "model_name", "model_version"]  # fmt: skip
    assert out.column("id").equals(rows.column("id"))
    bad = np.isin(np.arange(rows.num_rows), list(BAD))
    assert out.column("prediction").is_null().to_numpy(zero_copy_only=False).tolist() == list(bad)
    good = rows.filter(pa.array(~bad))
    want = expected(model, task, good)
    if task == "classification":
        got = np.vstack(out.column("probability").filter(pa.array(~bad)).to_numpy(False))
        assert got.tobytes() == want.tobytes()  # the pipeline's probabilities, bit for bit
        labels = np.asarray(classes, dtype=object)[want.argmax(axis=1)].tolist()
        assert out.column("prediction").filter(pa.array(~bad)).to_pylist() == labels
        assert out.column("probability").null_count == len(BAD)
        for j, name in enumerate(names):
            assert out.column(name).filter(pa.array(~bad)).to_pylist() == want[:, j].tolist()
            assert out.column(name).null_count == len(BAD)
    else:
        got = out.column("prediction").filter(pa.array(~bad)).to_numpy()
        assert got.tobytes() == want.tobytes()
    assert set(out.column("model_name").to_pylist()) == {"m"}
    assert set(out.column("model_version").to_pylist()) == {"3"}


@pytest.mark.parametrize("fast", [True, False], ids=["exact-compiled", "pipeline"])
def test_skip_policy_writes_the_good_rows_only(models, fast):
    model = models["classification"]
    classes = tuple(model.classes_.tolist())
    rows = batch()
    out = score(plan("classification", classes, "skip"), model, rows, fast)
    ids = [i for i in range(rows.num_rows) if i not in BAD]
    assert out.column("id").to_pylist() == ids
    assert out.column("prediction").null_count == 0
    want = expected(model, "classification", rows.take(pa.array(ids)))
    assert np.vstack(out.column("probability").to_numpy(False)).tobytes() == want.tobytes()


def test_fail_policy_names_the_first_bad_record(models):
    model = models["classification"]
    the_plan = plan("classification", tuple(model.classes_.tolist()), "fail")
    with pytest.raises(DataError, match=r"^row 3 \(id=3\): column 'visits': null in a column"):
        score(the_plan, model, batch(), fast=True)


def test_a_batch_of_bad_rows_only(models):
    model = models["classification"]
    the_plan = plan("classification", tuple(model.classes_.tolist()), "null")
    rows = batch().take(pa.array(sorted(BAD)))
    out = score(the_plan, model, rows, fast=True)
    assert out.num_rows == len(BAD)
    assert out.column("prediction").null_count == len(BAD)
    assert out.column("probability").type == LIST
    skipped = score(plan("classification", the_plan.labels, "skip"), model, rows, fast=True)
    assert skipped.num_rows == 0


def test_the_output_schema_is_what_spark_expects(models):
    """Types the job declares to Spark (job._arrow_types) are the types the batch carries."""
    model = models["regression"]
    the_plan = plan("regression", (), "null")
    out = score(the_plan, model, batch(), fast=True)
    for name, kind in the_plan.result_types.items():
        if name in out.schema.names:
            assert out.schema.field(name).type == kind


def test_kept_columns_pass_through_as_spark_sent_them(models):
    """A kept column is copied, not converted: a float NaN stays NaN and a null stays null
    (through pandas both became null), under either policy."""
    model = models["classification"]
    classes = tuple(model.classes_.tolist())
    rows = batch()
    ids = np.arange(rows.num_rows, dtype=np.float64)
    ids[5] = np.nan
    rows = rows.set_column(0, "id", pa.array(ids, mask=np.arange(rows.num_rows) == 6))
    out = score(plan("classification", classes, "null"), model, rows, fast=True)
    written = out.column("id").to_pylist()
    assert np.isnan(written[5])
    assert written[6] is None
    assert out.column("id").null_count == 1
    assert written[:5] + written[7:] == ids[:5].tolist() + ids[7:].tolist()
    skipped = score(plan("classification", classes, "skip"), model, rows, fast=True)
    kept = [i for i in range(rows.num_rows) if i not in BAD]
    assert [_same_cell(skipped.column("id")[j], rows.column("id")[i]) for j, i in
            enumerate(kept)] == [True] * len(kept)  # fmt: skip


def _same_cell(a: pa.Scalar, b: pa.Scalar) -> bool:
    """Equal values, both null, or both NaN."""
    a, b = a.as_py(), b.as_py()
    if a is None or b is None:
        return a is b
    return a == b or (np.isnan(a) and np.isnan(b))
