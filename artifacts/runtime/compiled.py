"""Models compiled to numpy: the one compiler, with one set of probe rows and one tolerance.

Vector and image models (a ``LogisticRegression``, optionally behind affine scalers) get their
probability function as a few numpy operations (:func:`compile_vector`). Tabular pipelines are
compiled column by column: frame-form columns → feature matrix → scores.

An exported tabular model is a scikit-learn ``Pipeline``: a ``ColumnTransformer`` (imputers,
ordinal and one-hot encoders, passthrough numbers), optional scalers, then the estimator.
sklearn re-validates and converts the frame at every step of every call, which for one row
costs far more than the arithmetic. Here the fitted steps are read once and replayed as the
same numpy operations, in the same order, on the validated column arrays of
:class:`artifacts.runtime.tabular.Batch` (or a DataFrame's columns): no pandas, no per-step checks.
Linear final estimators (logistic, linear, GLMs with identity or log link) are computed
directly; any other estimator gets the matrix through its own ``predict``/``predict_proba``
with sklearn's finiteness check off (trees on float32, which they convert to anyway).

Safety: :func:`compile_tabular` refuses any step it does not know exactly (returning None,
with the reason logged), and a compiled scorer is only returned after it reproduced the
pipeline on probe rows generated from the input schema — every category of every categorical
column, missing values, an unseen category, numbers across and beyond each column's range:
the same feature matrix bit for bit, the same labels, probabilities and values within 1e-9.
At serving time a request the compiled path cannot score as the pipeline would (an unknown
category for an encoder that refuses them, a non-finite feature) returns None, and the caller
runs the pipeline itself, so its answers and its errors stay the pipeline's.

Batch scoring writes what the pipeline computes, bit for bit, so it uses
:func:`compile_exact`: the compiled transforms (bit-identical by the check above) feeding the
final estimator's *own* ``predict_proba``/``predict`` — the call the pipeline makes, on the
same dense matrix — kept only if that reproduced the pipeline exactly on the probe rows.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import sklearn
from scipy.special import expit

from ..schema import BOOLEAN, CLASSIFICATION, Column, InputSchema

log = logging.getLogger(__name__)

PROBA, PREDICT = "predict_proba", "predict"
TOLERANCE = 1e-9
_PROBE_ROWS = 64
_UNSEEN = "\x00unseen category\x00"
_UNKNOWN = object()  # a lookup miss

Op = Callable[[np.ndarray], np.ndarray]
Columns = Any  # artifacts.runtime.tabular.Batch or a pandas DataFrame in frame form


class Unsupported(Exception):
    """A pipeline step without an exact compiled form; the pipeline serves the model."""


class _Defer(Exception):
    """This request is the pipeline's to answer (it may refuse it); raised while encoding."""


# --- the compiled scorer ------------------------------------------------------------------------


@dataclass(frozen=True)
class Branch:
    """One ColumnTransformer entry: which frame columns, as numbers or categories, then ops."""

    columns: tuple[str, ...]
    numeric: bool
    ops: tuple[Op, ...]

    def __call__(self, rows: Columns) -> np.ndarray:
        arrays = [rows[name] for name in self.columns]
        if self.numeric:
            block = np.column_stack(arrays) if len(arrays) > 1 else arrays[0].reshape(-1, 1)
            if block.dtype != np.float64:
                raise _Defer
        else:
            block = np.empty((len(arrays[0]), len(arrays)), dtype=object)
            for j, values in enumerate(arrays):
                block[:, j] = values
        for op in self.ops:
            block = op(block)
        return block


@dataclass(frozen=True)
class CompiledTabular:
    """Frame-form columns → what the pipeline's ``output`` method returns, or None to defer."""

    branches: tuple[Branch, ...]
    ops: tuple[Op, ...]  # scalers after the ColumnTransformer
    score: Callable[[np.ndarray], np.ndarray]
    output: str  # PROBA or PREDICT

    def matrix(self, rows: Columns) -> np.ndarray:
        """The feature matrix the final estimator sees; raises _Defer when it must not."""
        matrix = self.features(rows)
        if matrix.dtype != np.float64 or not np.isfinite(matrix).all():
            raise _Defer  # the pipeline decides what a gap that reaches the model means
        return matrix

    def features(self, rows: Columns) -> np.ndarray:
        """What the pipeline's transforms output, gaps included."""
        if isinstance(rows, pd.DataFrame):
            rows = {name: rows[name].to_numpy() for name in rows.columns}
        blocks = [branch(rows) for branch in self.branches]
        matrix = np.hstack(blocks) if len(blocks) > 1 else blocks[0]
        for op in self.ops:
            matrix = op(matrix)
        return matrix

    def __call__(self, rows: Columns) -> np.ndarray | None:
        try:
            with np.errstate(all="ignore"):
                return self.score(self.matrix(rows))
        except (_Defer, ValueError, TypeError, KeyError, AttributeError, IndexError):
            return None


def compile_tabular(estimator: Any, schema: InputSchema, task: str) -> CompiledTabular | None:
    """The verified compiled form of a tabular ``estimator``, or None (reason logged)."""
    output = PROBA if task == CLASSIFICATION and hasattr(estimator, PROBA) else PREDICT
    try:
        compiled = _compile(estimator, schema, output)
    except Unsupported as exc:
        log.info("tabular model served by its pipeline: %s", exc)
        return None
    disagreement = _probe(_disagreement, compiled, estimator, probe_frame(schema), task)
    if disagreement:
        log.warning("compiled tabular path not used: %s", disagreement)
        return None
    return compiled


@dataclass(frozen=True)
class ExactTabular:
    """The compiled transforms, then the final estimator's own method: the pipeline's output
    bit for bit (see :func:`compile_exact`), or None where the pipeline must decide."""

    compiled: CompiledTabular
    method: Callable[[np.ndarray], Any]  # the final estimator's predict_proba or predict

    @property
    def output(self) -> str:
        return self.compiled.output

    def __call__(self, rows: Columns) -> np.ndarray | None:
        try:
            with np.errstate(all="ignore"):
                matrix = self.compiled.matrix(rows)
        except (_Defer, ValueError, TypeError, KeyError, AttributeError, IndexError):
            return None
        with sklearn.config_context(assume_finite=True):  # matrix() checked it
            return np.asarray(self.method(matrix))


def compile_exact(estimator: Any, schema: InputSchema, task: str) -> ExactTabular | None:
    """A scorer giving exactly the pipeline's ``predict_proba`` (classifiers that have it) or
    ``predict``, faster; None (reason logged) unless it reproduced them bit for bit.

    Only for a ``Pipeline`` whose transforms output a dense matrix (a sparse one reaches the
    final estimator through other arithmetic) and whose final estimator reads plain arrays."""
    from sklearn.pipeline import Pipeline

    if type(estimator) is not Pipeline or len(estimator.steps) < 2:
        return None
    final = estimator.steps[-1][1]
    if getattr(final, "feature_names_in_", None) is not None:
        return None
    compiled = compile_tabular(estimator, schema, task)
    if compiled is None:
        return None
    exact = ExactTabular(compiled, getattr(final, compiled.output))
    problem = _probe(_inexact, exact, estimator, probe_frame(schema))
    if problem:
        log.info("exact compiled path not used: %s", problem)
        return None
    return exact


def _probe(check: Callable[..., str | None], *args: Any) -> str | None:
    """``check(*args)``: what is wrong with a compiled form on the probe rows, or None; a probe
    that makes the pipeline itself fail is a reason not to use the compiled form either."""
    try:
        with warnings.catch_warnings():  # probes are meant to hit unseen categories
            warnings.simplefilter("ignore")
            return check(*args)
    except (ValueError, TypeError, AttributeError, IndexError, KeyError) as exc:
        return f"probing failed: {type(exc).__name__}: {exc}"


def _inexact(exact: ExactTabular, estimator: Any, frame: pd.DataFrame) -> str | None:
    """Why ``exact`` does not give the pipeline's output bit for bit on the probe rows (those
    the pipeline accepts, scored together as a batch would be)."""
    _, refused = _reference(estimator, frame, exact.output)
    frame = frame.iloc[[i for i in range(len(frame)) if i not in refused]].reset_index(drop=True)
    if not isinstance(estimator[:-1].transform(frame), np.ndarray):
        return "the transforms output a sparse matrix"
    with np.errstate(all="ignore"):
        finite = np.isfinite(exact.compiled.features(frame)).all(axis=1)
    frame = frame[finite].reset_index(drop=True)  # rows whose gaps reach the model defer
    if not len(frame):
        return "it defers every probe row to the pipeline"
    want = np.asarray(getattr(estimator, exact.output)(frame))
    got = exact(frame)
    if got is None:
        return "it defers the probe rows to the pipeline"
    if got.shape != want.shape or got.dtype != want.dtype:
        return f"it outputs {got.dtype}{got.shape}, the pipeline {want.dtype}{want.shape}"
    same = got.tobytes() == want.tobytes() if got.dtype.kind == "f" else np.array_equal(got, want)
    return None if same else "its output is not the pipeline's bit for bit"


# --- vector and image models ---------------------------------------------------------------------

ProbaFn = Callable[[np.ndarray], np.ndarray]


def compile_vector(estimator: Any, n_features: int, value_range: Any) -> ProbaFn | None:
    """``predict_proba`` of a vector model as numpy operations, or None (reason logged).

    Only ``LogisticRegression``, alone or behind affine scalers (folded into its weights), and
    only after it reproduced the estimator's probabilities (within :data:`TOLERANCE`) and
    labels on the probe rows (:func:`probe_rows`, across the trained range)."""
    try:
        proba = _folded_logistic(estimator)
    except Unsupported as exc:
        log.debug("vector model served by scikit-learn: %s", exc)
        return None
    problem = _probe(_vector_disagreement, proba, estimator, probe_rows(n_features, value_range))
    if problem:
        log.info("compiled path for %s not used: %s", type(estimator).__name__, problem)
        return None
    return proba


def _folded_logistic(estimator: Any) -> ProbaFn:
    """Pipeline(StandardScaler | MinMaxScaler(clip=False)…, LogisticRegression) as one
    logistic model: each scaler is x → x * scale + shift, folded into the coefficients."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    steps = [s for _, s in estimator.steps] if isinstance(estimator, Pipeline) else [estimator]
    *transforms, final = steps
    if type(final) is not LogisticRegression:
        raise Unsupported(f"final estimator {type(final).__name__}")
    scale = np.ones(final.coef_.shape[1])
    shift = np.zeros(final.coef_.shape[1])
    for step in transforms:
        if type(step) is StandardScaler:
            step_scale = 1.0 / step.scale_ if step.with_std else 1.0
            step_shift = -step.mean_ * step_scale if step.with_mean else 0.0
        elif type(step) is MinMaxScaler and not step.clip:
            step_scale, step_shift = step.scale_, step.min_
        else:
            raise Unsupported(f"step {type(step).__name__}")
        scale, shift = scale * step_scale, shift * step_scale + step_shift
    coef = final.coef_ * scale
    return _logistic_of(coef, final.intercept_ + final.coef_ @ shift, final.classes_, PROBA)


def probe_rows(n_features: int, value_range: Any, rows: int = _PROBE_ROWS) -> np.ndarray:
    """Vector probe rows: uniform across the trained range (±3 where none is declared)."""
    low, high = value_range if value_range else (-3.0, 3.0)
    return np.random.default_rng(0).uniform(low, high, size=(rows, n_features))


def _vector_disagreement(proba: ProbaFn, estimator: Any, probe: np.ndarray) -> str | None:
    with np.errstate(all="ignore"):
        expected = estimator.predict_proba(probe)
        labels = estimator.predict(probe)
        got = proba(probe)
    problem = _compare(got, expected, PROBA, CLASSIFICATION, None)
    if problem:
        return problem
    classes = np.asarray(estimator.classes_)
    return None if np.array_equal(classes[got.argmax(axis=1)], labels) else "labels differ"


# --- compiling the pipeline ---------------------------------------------------------------------


def _compile(estimator: Any, schema: InputSchema, output: str) -> CompiledTabular:
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    steps = [s for _, s in estimator.steps] if type(estimator) is Pipeline else [estimator]
    *transforms, final = steps
    if transforms and type(transforms[0]) is ColumnTransformer:
        branches = _column_transformer(transforms[0], schema)
        transforms = transforms[1:]
    else:
        branches = (_whole_frame(transforms[0] if transforms else final, schema),)
    ops: list[Op] = []
    for step in transforms:
        numeric = _numeric_op(step)
        if numeric is None:
            raise Unsupported(f"step {type(step).__name__} after the column transformer")
        ops.extend(numeric)
    score = _final(final, output, fitted_on_frame=not transforms and len(steps) == 1)
    return CompiledTabular(branches, tuple(ops), score, output)


def _whole_frame(first: Any, schema: InputSchema) -> Branch:
    """No ColumnTransformer: the pipeline reads the frame as one numeric matrix."""
    _check_names(first, schema)
    if any(column.categorical for column in schema.columns):
        raise Unsupported("categorical columns reach the pipeline without a column transformer")
    return Branch(tuple(schema.column_names), True, ())


def _check_names(step: Any, schema: InputSchema) -> None:
    names = getattr(step, "feature_names_in_", None)
    if names is None or list(names) != schema.column_names:
        raise Unsupported("the pipeline was not fitted on the schema's columns in order")


def _column_transformer(transformer: Any, schema: InputSchema) -> tuple[Branch, ...]:
    _check_names(transformer, schema)
    names = schema.column_names
    branches = []
    for _, step, selected in transformer.transformers_:
        if isinstance(step, str) and step == "drop":
            continue
        columns = _selected(selected, names)
        if not columns:
            continue
        categorical = [schema.column(name).categorical for name in columns]
        if any(categorical) and not all(categorical):
            raise Unsupported("a transformer reads numeric and categorical columns together")
        numeric = not categorical[0]
        if isinstance(step, str) and step == "passthrough" and numeric:
            ops: list[Op] = []
        elif isinstance(step, str):
            raise Unsupported(f"column transformer entry {step!r} on categorical columns")
        else:
            ops = _branch_ops(step, numeric)
        branches.append(Branch(columns, numeric, tuple(ops)))
    if not branches:
        raise Unsupported("the column transformer outputs nothing")
    return tuple(branches)


def _selected(selected: Any, names: list[str]) -> tuple[str, ...]:
    if isinstance(selected, list | tuple | np.ndarray) and not isinstance(selected, str):
        values = list(selected)
        if all(isinstance(v, str) for v in values):
            return tuple(values)
        if all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in values):
            return tuple(names[int(v)] for v in values)
    raise Unsupported(f"column selection {selected!r} (only lists of names or positions)")


def _branch_ops(step: Any, numeric: bool) -> list[Op]:
    """The ops of one ColumnTransformer entry (a Pipeline of them, or a single step)."""
    from sklearn.pipeline import Pipeline

    chain = [s for _, s in step.steps] if type(step) is Pipeline else [step]
    ops: list[Op] = []
    for item in chain:
        encoder = _encoder_op(item)
        if encoder is not None:
            ops.append(encoder)
            numeric = True
            continue
        scaled = _numeric_op(item) if numeric else None
        if scaled is None:
            kind = "numeric" if numeric else "categorical"
            raise Unsupported(f"{type(item).__name__} on {kind} columns")
        ops.extend(scaled)
    if not numeric:
        raise Unsupported("categorical columns reach the estimator unencoded")
    return ops


# --- numeric steps: imputers, scalers, identity -------------------------------------------------


def _numeric_op(step: Any) -> list[Op] | None:
    """Ops replaying ``step.transform`` on a float block, or None if ``step`` is not known."""
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import (
        FunctionTransformer,
        MaxAbsScaler,
        MinMaxScaler,
        StandardScaler,
    )

    kind = type(step)
    if kind is Pipeline:
        ops: list[Op] = []
        for _, inner in step.steps:
            inner_ops = _numeric_op(inner)
            if inner_ops is None:
                return None
            ops.extend(inner_ops)
        return ops
    if kind is FunctionTransformer:
        identity = step.func is None and not step.validate
        return [] if identity else None
    if kind is SimpleImputer:
        return [_imputer(step)]
    if kind is StandardScaler:
        return _standard(step)
    if kind is MinMaxScaler:
        return [_min_max(step)]
    if kind is MaxAbsScaler:
        scale = np.asarray(step.scale_, dtype=np.float64)
        return [lambda block: block / scale]
    return None


def _imputer(step: Any) -> Op:
    stats = _floats(step.statistics_)
    marker = step.missing_values
    if (
        step.add_indicator
        or stats is None
        or not np.isfinite(stats).all()
        or not isinstance(marker, float | int | np.number)
        or isinstance(marker, bool)
    ):
        raise Unsupported(f"SimpleImputer(missing_values={marker!r}, statistics={stats!r})")
    if isinstance(marker, float) and math.isnan(marker):
        return lambda block: np.where(np.isnan(block), stats, block)
    value = float(marker)
    return lambda block: np.where(block == value, stats, block)


def _floats(values: Any) -> np.ndarray | None:
    """Fill values as float64 (a constant imputer keeps them as objects), None if not numbers."""
    values = np.asarray(values)
    if values.dtype.kind == "O" and all(
        isinstance(v, float | int | np.number) and not isinstance(v, bool | np.bool_)
        for v in values.tolist()
    ):
        return values.astype(np.float64)
    return values.astype(np.float64) if values.dtype.kind == "f" else None


def _standard(step: Any) -> list[Op]:
    ops: list[Op] = []
    if step.with_mean:
        mean = np.asarray(step.mean_, dtype=np.float64)
        ops.append(lambda block: block - mean)
    if step.with_std:
        scale = np.asarray(step.scale_, dtype=np.float64)
        ops.append(lambda block: block / scale)
    return ops


def _min_max(step: Any) -> Op:
    scale = np.asarray(step.scale_, dtype=np.float64)
    offset = np.asarray(step.min_, dtype=np.float64)
    if not step.clip:
        return lambda block: block * scale + offset
    low, high = step.feature_range
    return lambda block: np.clip(block * scale + offset, low, high)


# --- encoders: categories by lookup -------------------------------------------------------------


def _encoder_op(step: Any) -> Op | None:
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder

    if type(step) is OrdinalEncoder:
        return _ordinal(step)
    if type(step) is OneHotEncoder:
        return _one_hot(step)
    return None


def _lookups(step: Any, none_category: bool = False) -> list[dict[Any, int]]:
    """Per input column: category → its index in ``categories_`` (missing and unseen miss).

    ``none_category``: ``None`` may be a category (a one-hot encoder fitted on gaps gives
    them their own column); NaN never is, and other encoders with a missing category refuse.
    """
    if getattr(step, "_infrequent_enabled", False):
        raise Unsupported(f"{type(step).__name__} with infrequent categories")
    if np.dtype(step.dtype) != np.float64:
        raise Unsupported(f"{type(step).__name__}(dtype={step.dtype!r})")
    lookups = []
    for categories in step.categories_:
        values = categories.tolist()
        gaps = [v for v in values if v is None or (isinstance(v, float) and math.isnan(v))]
        if gaps and not (none_category and gaps == [None]):
            raise Unsupported(f"{type(step).__name__} with a missing value among its categories")
        lookup = {v: i for i, v in enumerate(values)}
        if len(lookup) != len(values):
            raise Unsupported(f"{type(step).__name__} with categories that compare equal")
        lookups.append(lookup)
    return lookups


def _ordinal(step: Any) -> Op:
    lookups = _lookups(step)
    if step.handle_unknown == "use_encoded_value":
        unknown: Any = float(step.unknown_value)
    elif step.handle_unknown == "error":
        unknown = _UNKNOWN
    else:
        raise Unsupported(f"OrdinalEncoder(handle_unknown={step.handle_unknown!r})")

    def encode(block: np.ndarray) -> np.ndarray:
        out = np.empty(block.shape, dtype=np.float64)
        for j, lookup in enumerate(lookups):
            codes = [lookup.get(v, unknown) for v in block[:, j].tolist()]
            if unknown is _UNKNOWN and _UNKNOWN in codes:
                raise _Defer
            out[:, j] = codes
        return out

    return encode


def _one_hot(step: Any) -> Op:
    lookups = _lookups(step, none_category=True)
    if step.handle_unknown not in ("ignore", "error", "infrequent_if_exist"):
        raise Unsupported(f"OneHotEncoder(handle_unknown={step.handle_unknown!r})")
    refuse = step.handle_unknown == "error"
    dropped = step.drop_idx_ if step.drop_idx_ is not None else [None] * len(lookups)
    positions, width = [], 0
    for lookup, drop in zip(lookups, dropped, strict=True):
        slots = {}
        for category, index in lookup.items():
            if drop is not None and index == int(drop):
                slots[category] = -1  # the dropped category: all zeros
            else:
                slots[category] = width
                width += 1
        positions.append(slots)

    def encode(block: np.ndarray) -> np.ndarray:
        n = block.shape[0]
        out = np.zeros((n, width), dtype=np.float64)
        for j, slots in enumerate(positions):
            codes = np.fromiter((slots.get(v, -2) for v in block[:, j].tolist()), np.int64, n)
            if refuse and (codes == -2).any():
                raise _Defer
            hit = np.flatnonzero(codes >= 0)
            out[hit, codes[hit]] = 1.0
        return out

    return encode


# --- the final estimator ------------------------------------------------------------------------

_TREES = (
    "DecisionTreeClassifier",
    "DecisionTreeRegressor",
    "ExtraTreeClassifier",
    "ExtraTreeRegressor",
    "RandomForestClassifier",
    "RandomForestRegressor",
    "ExtraTreesClassifier",
    "ExtraTreesRegressor",
    "GradientBoostingClassifier",
    "GradientBoostingRegressor",
)
_LINEAR = ("LinearRegression", "Ridge", "Lasso", "ElasticNet")
_GLMS = ("PoissonRegressor", "GammaRegressor", "TweedieRegressor")


def _final(estimator: Any, output: str, fitted_on_frame: bool) -> Callable[[np.ndarray], Any]:
    """The estimator's ``output`` on a float matrix: closed form where it is one line."""
    name = type(estimator).__name__
    if type(estimator).__module__.startswith("sklearn.linear_model"):
        if name == "LogisticRegression":
            return _logistic(estimator, output)
        if name in _LINEAR and np.ndim(estimator.coef_) == 1:
            coef, intercept = estimator.coef_, estimator.intercept_
            return lambda matrix: matrix @ coef + intercept
        if name in _GLMS:
            return _glm(estimator)
    if fitted_on_frame or getattr(estimator, "feature_names_in_", None) is not None:
        raise Unsupported(f"{name} was fitted on named columns; it needs the frame")
    method = getattr(estimator, output)
    as_float32 = name in _TREES and type(estimator).__module__.startswith("sklearn.")

    def call(matrix: np.ndarray) -> Any:
        with sklearn.config_context(assume_finite=True):
            return method(matrix.astype(np.float32) if as_float32 else matrix)

    return call


def _logistic(estimator: Any, output: str) -> Callable[[np.ndarray], np.ndarray]:
    """sklearn's own arithmetic: binary via expit, multinomial via a stable softmax."""
    return _logistic_of(estimator.coef_, estimator.intercept_, estimator.classes_, output)


def _logistic_of(
    coef: np.ndarray, intercept: np.ndarray, classes: np.ndarray, output: str
) -> Callable[[np.ndarray], np.ndarray]:
    """A logistic model's ``output`` from its coefficients (``coef`` is (k, features))."""

    def decision(matrix: np.ndarray) -> np.ndarray:
        scores = matrix @ coef.T + intercept
        return scores.reshape(-1) if scores.shape[1] == 1 else scores

    def proba(matrix: np.ndarray) -> np.ndarray:
        scores = decision(matrix)
        if scores.ndim == 1:
            positive = expit(scores)
            return np.stack([1 - positive, positive], axis=1)
        scores -= scores.max(axis=1).reshape(-1, 1)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=1).reshape(-1, 1)
        return scores

    def predict(matrix: np.ndarray) -> np.ndarray:
        scores = decision(matrix)
        indices = (scores > 0).astype(int) if scores.ndim == 1 else scores.argmax(axis=1)
        return classes[indices]

    return proba if output == PROBA else predict


def _glm(estimator: Any) -> Callable[[np.ndarray], np.ndarray]:
    link = "log"  # Poisson and Gamma regressors
    if type(estimator).__name__ == "TweedieRegressor":
        link = estimator.link
        if link == "auto":
            link = "identity" if estimator.power <= 0 else "log"
    if link not in ("log", "identity"):
        raise Unsupported(f"{type(estimator).__name__} with link {link!r}")
    coef, intercept = estimator.coef_, estimator.intercept_
    if link == "log":
        return lambda matrix: np.exp(matrix @ coef + intercept)
    return lambda matrix: matrix @ coef + intercept


# --- verification -------------------------------------------------------------------------------


def probe_frame(schema: InputSchema, rows: int = _PROBE_ROWS, seed: int = 0) -> pd.DataFrame:
    """Frame-form rows covering each column: every category, a gap and an unseen value where
    validation lets them through, numbers across and beyond the training range (NaN where
    nullable). Columns cycle through their values out of step."""
    rng = np.random.default_rng(seed)
    values = [_probe_values(column, rng) for column in schema.columns]
    n = max(rows, *(len(v) for v in values))
    data = {}
    for column, options in zip(schema.columns, values, strict=True):
        picks = [options[i % len(options)] for i in rng.permutation(n)]
        dtype = object if column.categorical else np.float64
        data[column.name] = pd.Series(picks, dtype=dtype)
    return pd.DataFrame(data, columns=schema.column_names)


def _probe_values(column: Column, rng: np.random.Generator) -> list[Any]:
    if column.categorical:  # only what validation lets through
        gaps = [None] if column.nullable else []
        unseen = [_UNSEEN] if column.unseen == "keep" and column.type != BOOLEAN else []
        return [*column.categories, *gaps, *unseen]
    low, high = column.range if column.range else (-3.0, 3.0)
    span = max(high - low, 1.0)
    numbers = [low, high, (low + high) / 2, 0.0, low - span, high + span]
    numbers += rng.uniform(low, high, size=16).tolist()
    if column.type == "long":
        numbers = [float(round(v)) for v in numbers]
    return [*numbers, math.nan] if column.nullable else numbers


def _disagreement(
    compiled: CompiledTabular, estimator: Any, frame: pd.DataFrame, task: str
) -> str | None:
    """Why ``compiled`` does not reproduce ``estimator`` on ``frame``, or None if it does."""
    expected, refused = _reference(estimator, frame, compiled.output)
    problem = _matrix_disagreement(compiled, estimator, frame)
    if problem:
        return problem
    scored = 0
    for i in range(len(frame)):
        got = compiled(frame.iloc[[i]].reset_index(drop=True))
        if i in refused:
            if got is not None:
                return f"probe row {i}: the pipeline refuses it, the compiled path scores it"
        elif got is not None:
            scored += 1
            problem = _compare(got, expected[i : i + 1], compiled.output, task, i)
            if problem:
                return problem
    if not scored:
        return "it defers every probe row to the pipeline"
    batch = compiled(frame)
    if batch is None or refused:
        return None
    problem = _compare(batch, expected, compiled.output, task, None)
    if problem or compiled.output != PROBA:
        return problem
    labels = np.asarray(estimator.classes_)[batch.argmax(axis=1)]
    return None if np.array_equal(labels, estimator.predict(frame)) else "labels differ"


def _reference(estimator: Any, frame: pd.DataFrame, output: str) -> tuple[np.ndarray, set[int]]:
    """The pipeline's output per probe row, and the rows it refuses (scored one by one)."""
    method = getattr(estimator, output)
    try:
        return np.asarray(method(frame)), set()
    except (ValueError, TypeError):
        pass
    results, refused = [], set()
    for i in range(len(frame)):
        try:
            results.append(np.asarray(method(frame.iloc[[i]].reset_index(drop=True)))[0])
        except (ValueError, TypeError):
            refused.add(i)
            results.append(None)
    fill = next((r for r in results if r is not None), None)
    if fill is None:
        raise ValueError("the pipeline refuses every probe row")
    return np.asarray([fill if r is None else r for r in results]), refused


def _matrix_disagreement(
    compiled: CompiledTabular, estimator: Any, frame: pd.DataFrame
) -> str | None:
    from sklearn.pipeline import Pipeline

    if type(estimator) is not Pipeline:
        return None
    try:
        want = estimator[:-1].transform(frame)
    except (ValueError, TypeError):
        return None  # an encoder refuses a probe row; the rows are compared one by one
    want = want.toarray() if hasattr(want, "toarray") else np.asarray(want, dtype=np.float64)
    try:
        with np.errstate(all="ignore"):
            got = compiled.features(frame)
    except (_Defer, ValueError, TypeError, KeyError, AttributeError, IndexError):
        return "it cannot encode the probe rows the pipeline transforms"
    if got.shape != want.shape or not np.array_equal(got, want, equal_nan=True):
        return "its feature matrix differs from the pipeline's transform"
    return None


def _compare(got: Any, want: np.ndarray, output: str, task: str, row: int | None) -> str | None:
    where = "the probe batch" if row is None else f"probe row {row}"
    got = np.asarray(got)
    if got.shape != want.shape:
        return f"{where}: shape {got.shape} ≠ {want.shape}"
    if output == PROBA:
        if not np.allclose(got, want, rtol=0, atol=TOLERANCE):
            return f"{where}: probabilities differ by more than {TOLERANCE}"
        if not np.array_equal(got.argmax(axis=1), want.argmax(axis=1)):
            return f"{where}: the most probable class differs"
        return None
    if task == CLASSIFICATION or got.dtype.kind not in "fiu":
        return None if np.array_equal(got, want) else f"{where}: labels differ"
    bound = TOLERANCE * np.maximum(1.0, np.abs(want.astype(np.float64)))
    if not np.all(np.abs(got.astype(np.float64) - want) <= bound):
        return f"{where}: values differ by more than {TOLERANCE} (relative)"
    return None
