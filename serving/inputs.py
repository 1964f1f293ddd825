"""Turn request payloads into the validated float arrays every model call relies on.

All the checks a model needs happen here, once, with messages that say what to send instead:
shape and width, numeric dtype, finiteness, the value range the model was trained on, and the
batch limit. Because of them the model layer can skip scikit-learn's own per-call validation.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from artifacts.runtime import Model

from .errors import (
    BatchTooLarge,
    InvalidDatatype,
    InvalidShape,
    NonFiniteValue,
    OutOfRange,
    TooManyValues,
)


def rows_from_json(
    instances: Any, model: Model, max_batch: int, field: str, max_values: int | None = None
) -> np.ndarray:
    """A JSON list of rows (each a flat list, or 28x28 nested for images) → (n, features)."""
    if not isinstance(instances, list) or not instances:
        raise InvalidShape(
            f"'{field}' must be a non-empty list of rows of {model.n_features} numbers"
        )
    check_batch(len(instances), max_batch)
    if max_values is not None:
        check_values(_declared_size(instances), max_values)
    array = _numeric(instances, field)
    return validate_rows(
        array.reshape(len(instances), -1) if array.ndim > 2 else array, model, field
    )


def row_from_json(
    pixels: Any, model: Model, field: str, max_values: int | None = None
) -> np.ndarray:
    """One JSON row (flat list, or 28x28 nested) → (1, features)."""
    if not isinstance(pixels, list) or not pixels:
        raise InvalidShape(f"'{field}' must be a list of {model.n_features} numbers")
    if max_values is not None:
        check_values(_declared_size(pixels), max_values)
    array = _numeric(pixels, field)
    return validate_rows(array.reshape(1, -1), model, field)


def check_batch(rows: int, max_batch: int) -> None:
    """Refuse an empty batch (400: there is nothing to score, and scikit-learn refuses zero
    rows) and one over the limit (413)."""
    if rows < 1:
        raise InvalidShape("the batch is empty: send at least one row")
    if rows > max_batch:
        raise BatchTooLarge(
            f"{rows} rows in one request; the limit is {max_batch} (SERVING_MAX_BATCH). "
            "Split the batch."
        )


def check_values(count: int, max_values: int) -> None:
    """Refuse a request that carries more numbers than one request may (before converting them)."""
    if count > max_values:
        raise TooManyValues(
            f"{count} values in one request; the limit is {max_values} (SERVING_MAX_VALUES). "
            "Split the batch."
        )


def _declared_size(values: list) -> int:
    """Values in a nested list if it is as regular as its first elements say (it must be)."""
    size, level = 1, values
    while isinstance(level, list) and level:
        size *= len(level)
        level = level[0]
    return size


def _numeric(values: Any, field: str) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        reason = "rows of different lengths" if "inhomogeneous" in str(exc) else "non-numbers"
        raise InvalidDatatype(
            f"'{field}' must hold only numbers in equally long rows ({reason} found)"
        ) from None
    return array


def validate_rows(array: np.ndarray, model: Model, field: str) -> np.ndarray:
    """Check width, finiteness and range of an (n, features) array; returns it unchanged."""
    if array.ndim != 2 or array.shape[1] != model.n_features:
        got = "x".join(str(d) for d in array.shape)
        raise InvalidShape(
            f"'{field}' has shape {got}; model {model.name!r} takes rows of "
            f"{model.n_features} features"
        )
    faults = model.vector_faults(array)
    if faults is None:
        return array
    if not faults.finite.all():
        raise NonFiniteValue(f"'{field}' contains NaN or infinity; send finite numbers only")
    if not faults.inside.all():
        low, high = model.value_range
        raise OutOfRange(
            f"'{field}' values must lie in [{low}, {high}] for model {model.name!r}"
            + ("; scale 0-255 pixels by 1/255" if high == 1 else "")
        )
    return array
