"""Open Inference Protocol (V2) for recommender models: metadata, request and response tensors.

Request: one input ``user`` — ``BYTES`` ids (string-id models; integer-id models take decimal
strings too) or ``INT64`` ids (integer-id models), shape ``[n]`` or ``[n, 1]`` — and the request
``parameters`` ``k`` (default 10) and ``exclude_seen`` (default true).
Response: ``item`` (``BYTES`` or ``INT64``) and ``score`` (``FP32``) of shape ``[n, k]``, best
first, and ``cold_start`` (``BOOL``, ``[n]``). A user with fewer than ``k`` candidate items (a
small catalogue, or ``exclude_seen``) is padded with ``""``/``-1`` and a NaN score (``null`` in
JSON).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson

from artifacts.runtime import FactorScorer, Model

from . import oip
from .errors import BatchTooLarge, InvalidDatatype, InvalidShape
from .recommend import InvalidId, Recommendation, check_id, check_k

USER, ITEM, SCORE, COLD_START = "user", "item", "score", "cold_start"
OUTPUTS = (ITEM, SCORE, COLD_START)
DEFAULT_K = 10


def metadata(model: Model, versions: list[str], max_k: int) -> dict[str, Any]:
    scorer: FactorScorer = model.recommender
    user_type = "INT64" if scorer.user_ids_are_ints else "BYTES"
    item_type = "INT64" if scorer.item_ids_are_ints else "BYTES"
    return {
        "name": model.name,
        "versions": versions,
        "platform": "spark-als",
        "inputs": [{"name": USER, "datatype": user_type, "shape": [-1]}],
        "outputs": [
            {"name": ITEM, "datatype": item_type, "shape": [-1, -1]},
            {"name": SCORE, "datatype": "FP32", "shape": [-1, -1]},
            {"name": COLD_START, "datatype": "BOOL", "shape": [-1]},
        ],
        "parameters": {
            "task": model.task,
            "rank": scorer.rank,
            "implicit": scorer.implicit,
            "cold_start": scorer.cold_start_policy,
            "users": scorer.n_users,
            "items": scorer.n_items,
            "k": {"default": DEFAULT_K, "max": max_k},
        },
    }


def request_options(parsed: oip.InferRequest, max_k: int) -> tuple[int, bool]:
    """``k`` and ``exclude_seen`` from the request ``parameters``."""
    params = parsed.parameters
    k = check_k(params.get("k", DEFAULT_K), max_k, "parameters.k")
    exclude_seen = params.get("exclude_seen", True)
    if not isinstance(exclude_seen, bool):
        raise InvalidShape("'parameters.exclude_seen' must be true or false")
    return k, exclude_seen


def users_of(parsed: oip.InferRequest, scorer: FactorScorer, max_users: int) -> list[Any]:
    if len(parsed.tensors) != 1 or parsed.name != USER:
        raise InvalidShape(f"a recommender takes exactly one input, {USER!r}")
    tensor = parsed.tensor
    if tensor.ndim == 2 and tensor.shape[1] == 1:
        tensor = tensor[:, 0]
    if tensor.ndim != 1 or tensor.size == 0:
        raise InvalidShape(f"input {USER!r} must have shape [n] or [n, 1] with n >= 1")
    if tensor.size > max_users:
        raise BatchTooLarge(
            f"{tensor.size} users sent; at most {max_users} (SERVING_MAX_RECOMMEND_USERS)"
        )
    if tensor.dtype == object:  # BYTES
        values = tensor.tolist()
        if scorer.user_ids_are_ints:
            values = [_int_id(v, i) for i, v in enumerate(values)]
    elif tensor.dtype.kind in "iu" and scorer.user_ids_are_ints:
        values = [int(v) for v in tensor.tolist()]
    else:
        wanted = "INT64 (or BYTES)" if scorer.user_ids_are_ints else "BYTES"
        raise InvalidDatatype(f"input {USER!r}: this model's user ids are {wanted}")
    return [check_id(scorer, v, "user", f"{USER}[{i}]") for i, v in enumerate(values)]


def _int_id(value: Any, index: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidId(f"{USER}[{index}]: user ids of this model are integers") from None


def encode(
    parsed: oip.InferRequest, model: Model, answers: list[Recommendation], k: int
) -> tuple[bytes, int | None]:
    """The response tensors, padded to ``[n, k]`` (see the module docstring)."""
    scorer: FactorScorer = model.recommender
    width = min(k, scorer.n_items)
    n = len(answers)
    scores = np.full((n, width), np.nan, dtype=np.float32)
    if scorer.item_ids_are_ints:
        items: np.ndarray = np.full((n, width), -1, dtype=np.int64)
        item_type = "INT64"
    else:
        items = np.full((n, width), "", dtype=object)
        item_type = "BYTES"
    for row, answer in enumerate(answers):
        got = len(answer.items)
        items[row, :got] = answer.items
        scores[row, :got] = answer.scores
    cold = np.array([a.cold_start for a in answers], dtype=np.bool_)
    tensors = {ITEM: (item_type, items), SCORE: ("FP32", scores), COLD_START: ("BOOL", cold)}
    outputs, chunks = [], []
    for name, binary in parsed.outputs.items():
        datatype, array = tensors[name]
        entry: dict[str, Any] = {"name": name, "datatype": datatype, "shape": list(array.shape)}
        if binary:
            chunk = oip._binary(array, datatype)
            entry["parameters"] = {"binary_data_size": len(chunk)}
            chunks.append(chunk)
        else:
            entry["data"] = _json_values(array)
        outputs.append(entry)
    doc: dict[str, Any] = {"model_name": model.name, "model_version": model.version}
    if parsed.id is not None:
        doc["id"] = parsed.id
    doc["outputs"] = outputs
    header = orjson.dumps(doc)
    if not chunks:
        return header, None
    return header + b"".join(chunks), len(header)


def _json_values(array: np.ndarray) -> list:
    values = array.ravel().tolist()
    if array.dtype.kind == "f":
        return [None if v != v else v for v in values]
    return values
