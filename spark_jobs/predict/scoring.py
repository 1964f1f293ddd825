"""Executor side of batch scoring: Arrow in, one vectorised predict per batch, Arrow out.

Nothing here imports pyspark at module level, so every function is testable on plain Arrow
record batches. The :class:`Plan` is what the driver pickles into the ``mapInArrow`` closure:
small facts about the model, its manifest and a handle on the broadcast model bytes (never a
path). :func:`model_for` unpickles those bytes at most once per Python worker — a module-level
cache keyed by the sha256 the driver computed over the bytes it produced from the *verified*
estimator — and :func:`opened` makes them the runtime :class:`artifacts.runtime.Model` serving
scores with, in its ``exact`` form (the pipeline's output bit for bit): predictions, labels
and probabilities come from there, and only the Arrow conversion lives here.

Batches arrive and leave as Arrow record batches (``mapInArrow``): kept columns pass through
untouched and the results are built as Arrow arrays in bulk (the probabilities as one list
array over the flat matrix, labels by index into the label array, nulls by mask) — no pandas
frame and no Python object per row on the way out. Rows are validated with
:mod:`artifacts.runtime.tabular` — the rules serving applies to a request: Parquet/table batches as
typed columns (``from_arrays``: numpy checks per column, the per-value rules where a column
has a problem), CSV batches as text (``from_csv``'s rules: every cell a string, an empty cell
missing). Image rows go through :func:`artifacts.runtime.preprocess.to_mnist`, the function
serving applies to uploads.
"""

from __future__ import annotations

import hashlib
import pickle
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from artifacts import skew
from artifacts.errors import VersionSkew
from artifacts.runtime import Model, tabular, vector_faults
from artifacts.schema import CLASSIFICATION, InputSchema
from spark_jobs.errors import DataError

TABULAR, IMAGE, PIXELS, VECTOR = "tabular", "image", "pixels", "vector"
"""Row kinds: named columns; encoded images (Spark's image source); 784 MNIST floats (IDX);
a numeric vector per row, checked as serving checks one (width, finite, trained range)."""
FEATURES = "features"  # the array column of the PIXELS and VECTOR kinds
IMAGE_FIELDS = ("height", "width", "nChannels", "data")
_PIL_MODES = {1: "L", 3: "RGB", 4: "RGBA"}

_MODELS: dict[str, Any] = {}  # digest → estimator; one model per worker at a time
_OPENED: dict[str, Model] = {}  # digest → the runtime model (exact) over that estimator
LOADS = {"count": 0}  # unpickles in this process, for tests and the bench


def serialise(estimator: Any) -> tuple[bytes, str]:
    """The verified estimator as bytes for the broadcast, and their sha256."""
    data = pickle.dumps(estimator, protocol=pickle.HIGHEST_PROTOCOL)
    return data, hashlib.sha256(data).hexdigest()


def model_for(digest: str, payload: Any, framework: dict, skew_policy: str) -> Any:
    """The estimator for ``digest``, unpickled from ``payload`` only on this worker's first call.

    ``payload`` is a Spark broadcast of the bytes (or the bytes themselves). The bytes are
    checked against the driver's digest and the worker's scikit-learn/numpy against the
    manifest's before anything is unpickled.
    """
    model = _MODELS.get(digest)
    if model is not None:
        return model
    data = payload.value if hasattr(payload, "value") else payload
    if hashlib.sha256(data).hexdigest() != digest:
        raise RuntimeError("the broadcast model bytes do not match the driver's digest")
    skew.check(framework, skew_policy)
    model = _unpickle(data)
    _MODELS.clear()
    _MODELS[digest] = model
    LOADS["count"] += 1
    return model


def _unpickle(data: bytes) -> Any:
    from sklearn.exceptions import InconsistentVersionWarning

    with warnings.catch_warnings():
        warnings.simplefilter("error", InconsistentVersionWarning)
        try:
            return pickle.loads(data)  # noqa: S301 - bytes the driver made from a verified artifact
        except InconsistentVersionWarning as exc:
            raise VersionSkew(str(exc)) from None


@dataclass(frozen=True)
class Plan:
    """What each batch needs; pickled into the ``mapInArrow`` closure (the model is not)."""

    digest: str
    payload: Any
    framework: dict
    skew_policy: str
    kind: str
    manifest: dict  # the verified manifest: the runtime model's schemas
    features: tuple[str, ...]  # tabular: the model's columns present in the data
    keep: tuple[str, ...]
    text: bool  # tabular values are text (CSV): parse them as serving parses a CSV body
    task: str
    labels: tuple  # classification: output labels (as written) in predict_proba's column order
    probability_array: bool
    probability_columns: tuple[str, ...]
    on_error: str
    model_name: str
    model_version: str
    result_types: dict  # Arrow type of each column the job adds (prediction … model_version)
    rows: Any = None  # Spark accumulators (None outside Spark)
    bad_rows: Any = None
    examples: Any = None

    def score(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        """The ``mapInArrow`` function."""
        model = opened(self)
        offset = 0
        for batch in batches:
            yield score_batch(self, model, batch, offset)
            offset += batch.num_rows


def opened(plan: Plan) -> Model:
    """The runtime model for ``plan``, built once per worker: the estimator from the broadcast
    bytes, opened ``exact`` (compiled transforms only where they give the pipeline's bits)."""
    model = _OPENED.get(plan.digest)
    if model is None:
        estimator = model_for(plan.digest, plan.payload, plan.framework, plan.skew_policy)
        model = Model.from_artifact(
            plan.model_name, plan.model_version, estimator, plan.manifest, exact=True
        )
        _OPENED.clear()
        _OPENED[plan.digest] = model
    return model


def score_batch(plan: Plan, model: Model, batch: pa.RecordBatch, offset: int = 0) -> pa.RecordBatch:
    """One Arrow batch → kept columns, prediction, probabilities, model name and version."""
    rows, good, problems = _inputs(plan, model.inputs, batch)
    if problems and plan.on_error == "fail":
        row, message = min(problems.items())
        raise DataError(f"{_where(plan, batch, row, offset)}: {message}")
    _count(plan, batch, offset, problems)
    values, proba = _predict(model, rows) if good.any() else (None, None)
    return _output(plan, batch, good, values, proba)


def _inputs(plan: Plan, schema: InputSchema, batch: pa.RecordBatch):
    """(model input for the good rows, good-row mask, {row: problem}) for one batch."""
    if plan.kind == TABULAR:
        return _tabular(plan, schema, batch)
    if plan.kind == IMAGE:
        return _images(batch)
    cells = _numpy(batch.column(FEATURES))
    if plan.kind == VECTOR:
        return _vectors(schema, cells)
    good = np.ones(len(cells), dtype=bool)
    return np.vstack(cells) if len(cells) else None, good, {}


def _numpy(column: pa.Array) -> np.ndarray:
    """An Arrow column as numpy: numbers with gaps as float64 NaN; strings, booleans with
    gaps and lists as object arrays (None for a gap, an array per list)."""
    return column.to_numpy(zero_copy_only=False)


def _vectors(schema: InputSchema, cells: Any):
    """Rows of the model's width, finite and inside the trained range; the rest are bad."""
    width = schema.features
    problems: dict[int, str] = {}
    rows = np.zeros((len(cells), width))
    good = np.zeros(len(cells), dtype=bool)
    for i, cell in enumerate(cells):
        if cell is None:
            problems[i] = "the feature vector is null"
        elif len(cell) != width:
            problems[i] = f"the feature vector has {len(cell)} values; the model takes {width}"
        else:
            values = np.asarray(cell, dtype=np.float64)  # a null element becomes NaN
            rows[i] = values
            good[i] = True
    faults = vector_faults(rows, schema.range)
    if faults is not None:
        for i in np.flatnonzero(good & ~faults.finite):
            problems[int(i)] = "the feature vector holds NaN, infinity or a null"
        good &= faults.finite
        for i in np.flatnonzero(good & ~faults.inside):
            low, high = schema.range
            problems[int(i)] = f"values outside the trained range [{low}, {high}]"
        good &= faults.inside
    return (rows[good] if good.any() else None), good, problems


def _tabular(plan: Plan, schema: InputSchema, batch: pa.RecordBatch):
    """Validate with serving's rules; bad rows are set aside and the rest validated again."""
    arrays = {name: _numpy(batch.column(name)) for name in plan.features}
    index = np.arange(batch.num_rows)
    problems: dict[int, str] = {}
    while len(index):
        part = {name: values[index] for name, values in arrays.items()} if problems else arrays
        try:
            if plan.text:
                texts = {name: values.tolist() for name, values in part.items()}
                frame = tabular.from_columns(texts, schema, text=True, lazy=True)
            else:
                frame = tabular.from_arrays(part, schema, lazy=True)
        except tabular.SchemaMismatch as exc:
            rows = {p["row"] for p in exc.problems}
            if None in rows:  # a whole-column problem: the driver's checks should have caught it
                raise DataError(str(exc)) from None
            for p in exc.problems:
                problems.setdefault(int(index[p["row"]]), _describe(p))
            if plan.on_error == "fail":
                break
            index = index[~np.isin(np.arange(len(index)), list(rows))]
            continue
        good = np.zeros(batch.num_rows, dtype=bool)
        good[index] = True
        return frame, good, problems
    return None, np.zeros(batch.num_rows, dtype=bool), problems


def _describe(problem: dict) -> str:
    return f"column {problem['field']!r}: {problem['message']}"


def _images(batch: pa.RecordBatch):
    """Decode and normalise each image as serving does an upload; undecodable ones are bad."""
    from artifacts.runtime.preprocess import to_mnist  # PIL and scipy: image models only

    pixels, problems = [], {}
    good = np.zeros(batch.num_rows, dtype=bool)
    columns = zip(*(batch.column(name).to_pylist() for name in IMAGE_FIELDS), strict=True)
    for row, (height, width, channels, data) in enumerate(columns):
        if None in (height, width, data) or min(height, width) <= 0 or channels not in _PIL_MODES:
            problems[row] = "not a readable image"
            continue
        try:
            pixels.append(to_mnist(_decode(height, width, channels, data)))
        except (OSError, ValueError) as exc:
            problems[row] = f"cannot normalise the image: {exc}"
            continue
        good[row] = True
    return (np.vstack(pixels) if pixels else None), good, problems


def _decode(height: int, width: int, channels: int, data: bytes):
    """A PIL image from Spark's image row (OpenCV layout: rows of BGR/BGRA bytes)."""
    from PIL import Image

    array = np.frombuffer(data, dtype=np.uint8).reshape(height, width, channels)
    if channels >= 3:
        array = array[..., [2, 1, 0, *range(3, channels)]]
    if channels == 1:
        array = array[..., 0]
    return Image.fromarray(np.ascontiguousarray(array), mode=_PIL_MODES[channels])


def _predict(model: Model, rows: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """One vectorised call of the runtime model: (indices into ``plan.labels``, or values;
    probabilities or None) — as serving answers. Tabular ``rows`` are a ``tabular.Batch``."""
    prediction = model.predict(rows)
    if prediction.indices is None:
        return prediction.values, None
    return prediction.indices, prediction.probabilities


def _output(plan: Plan, batch: pa.RecordBatch, good: np.ndarray, values, proba) -> pa.RecordBatch:
    """The result batch: every input row (``null``), or only the good ones (``skip``).

    ``values``/``proba`` hold the good rows' results in order; a bad row written under
    ``null`` gets nulls. A NaN result is written as null, as Spark writes a pandas NaN."""
    skip = plan.on_error == "skip"
    n = int(good.sum()) if skip else batch.num_rows
    where = None if skip or good.all() else _positions(good)
    columns = {name: _kept(batch.column(name), good, skip) for name in plan.keep}
    types = plan.result_types
    columns["prediction"] = _prediction(plan, values, where, n)
    if plan.probability_array:
        columns["probability"] = _probability_array(proba, where, n, types["probability"])
    for j, name in enumerate(plan.probability_columns):
        column = None if proba is None else pa.array(proba[:, j], from_pandas=True)
        columns[name] = _placed(column, where, n, types[name])
    for name, text in (("model_name", plan.model_name), ("model_version", plan.model_version)):
        columns[name] = pa.array([text], types[name]).take(np.zeros(n, dtype=np.int64))
    return pa.RecordBatch.from_arrays(list(columns.values()), names=list(columns))


def _positions(good: np.ndarray) -> pa.Array:
    """Per row, the index of its result among the good rows' results; null for a bad row."""
    return pa.array(np.cumsum(good, dtype=np.int64) - 1, mask=~good)


def _kept(column: pa.Array, good: np.ndarray, skip: bool) -> pa.Array:
    return column.filter(pa.array(good)) if skip and not good.all() else column


def _placed(column: pa.Array | None, where: pa.Array | None, n: int, kind: pa.DataType):
    """The good rows' ``column`` laid over the ``n`` written rows (all null if None)."""
    if column is None:
        return pa.nulls(n, kind)
    column = column.cast(kind)
    return column if where is None else column.take(where)


def _prediction(plan: Plan, values, where: pa.Array | None, n: int) -> pa.Array:
    """Labels (``values`` index the plan's labels) or the regression/cluster values."""
    kind = plan.result_types["prediction"]
    if values is None:
        return pa.nulls(n, kind)
    if plan.task != CLASSIFICATION:
        return _placed(pa.array(values, from_pandas=True), where, n, kind)
    indices = pa.array(values, pa.int64())
    return pa.array(list(plan.labels), kind).take(indices if where is None else indices.take(where))


def _probability_array(proba, where: pa.Array | None, n: int, kind: pa.ListType) -> pa.Array:
    """One list per row over the flat probability matrix (no Python object per row)."""
    if proba is None:
        return pa.nulls(n, kind)
    rows, width = proba.shape
    offsets = pa.array(np.arange(0, (rows + 1) * width, width, dtype=np.int32))
    flat = pa.array(np.ascontiguousarray(proba, dtype=np.float64).reshape(-1))
    gaps = np.isnan(proba[:, 0])  # a model's NaN row is written as null, as it always was
    mask = pa.array(gaps) if gaps.any() else None
    lists = pa.ListArray.from_arrays(offsets, flat, type=kind, mask=mask)
    return lists if where is None else lists.take(where)


def _count(plan: Plan, batch: pa.RecordBatch, offset: int, problems: dict[int, str]) -> None:
    if plan.rows is None:
        return
    plan.rows.add(batch.num_rows)
    if problems:
        plan.bad_rows.add(len(problems))
        shown = sorted(problems.items())[:3]
        plan.examples.add([f"{_where(plan, batch, r, offset)}: {m}" for r, m in shown])


def _where(plan: Plan, batch: pa.RecordBatch, row: int, offset: int) -> str:
    """Name a record: its kept values (ids) and its position in the Spark partition."""
    partition = _partition()
    place = f"row {offset + row}" + (f" of partition {partition}" if partition is not None else "")
    ids = ", ".join(f"{k}={batch.column(k)[row].as_py()!r}" for k in plan.keep[:3])
    return f"{place} ({ids})" if ids else place


def _partition() -> int | None:
    try:
        from pyspark import TaskContext
    except ImportError:  # pragma: no cover - scoring outside Spark
        return None
    context = TaskContext.get()
    return None if context is None else context.partitionId()
