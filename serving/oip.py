"""Open Inference Protocol (KServe V2) tensors: request decoding and response encoding.

Covers the JSON form and the binary tensor data extension used by ``tritonclient``: the body
starts with a JSON header of ``Inference-Header-Content-Length`` bytes, followed by the raw
little-endian bytes of each tensor whose ``parameters.binary_data_size`` is set, in order.
Large batches skip JSON number parsing entirely that way. Nothing here knows about Flask.

Image and vector models take one tensor (``input``, FP32 recommended). Tabular models take one
input per column, named after it, as MLServer's pandas codec sends a DataFrame: ``BYTES`` for
string columns, ``BOOL`` for booleans, ``INT64``/``FP64`` for numbers, each of shape ``[n]`` or
``[n, 1]``; an all-numeric tabular model also takes the single ``[n, columns]`` tensor.
Classifiers answer ``label`` and ``probabilities``; regression (and clustering) ``predictions``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson

from artifacts.runtime import Model, Prediction

from .errors import BadRequest, InvalidDatatype, InvalidJSON, InvalidShape

HEADER_LENGTH = "Inference-Header-Content-Length"
INPUT_NAME = "input"
LABEL, PROBABILITIES, PREDICTIONS = "label", "probabilities", "predictions"
MAX_INPUTS = 1024  # per-column requests: one input per column
DATATYPES: dict[str, np.dtype] = {
    "BOOL": np.dtype(np.bool_),
    "UINT8": np.dtype("<u1"),
    "UINT16": np.dtype("<u2"),
    "UINT32": np.dtype("<u4"),
    "UINT64": np.dtype("<u8"),
    "INT8": np.dtype("<i1"),
    "INT16": np.dtype("<i2"),
    "INT32": np.dtype("<i4"),
    "INT64": np.dtype("<i8"),
    "FP16": np.dtype("<f2"),
    "FP32": np.dtype("<f4"),
    "FP64": np.dtype("<f8"),
}
NUMERIC_INPUTS = tuple(name for name in DATATYPES if name != "BOOL")
INPUT_DATATYPES = (*DATATYPES, "BYTES")
COLUMN_DATATYPES = {"double": "FP64", "long": "INT64", "string": "BYTES", "boolean": "BOOL"}
#: Most dimensions a tensor shape may have (numpy stops at 64; models here take 1 to 4).
MAX_DIMS = 8
#: Most elements a shape may describe, counting a zero dimension as one: far more than any
#: request body holds, and small enough that numpy can lay out even an empty array of it.
MAX_SHAPE_ELEMENTS = 2**40


@dataclass(frozen=True)
class InferRequest:
    """A decoded request: its input tensors and which outputs to return, and how.

    ``name``/``tensor`` are the first input — the only one for image and vector models."""

    id: str | None
    name: str
    tensor: np.ndarray
    outputs: dict[str, bool]  # output name → binary?
    tensors: tuple[tuple[str, np.ndarray], ...] = ()  # every input, in request order (BYTES: str)
    parameters: dict[str, Any] = field(default_factory=dict)  # the request's own parameters

    @property
    def size(self) -> int:
        return sum(array.size for _, array in self.tensors) or self.tensor.size


def parse_infer_request(
    body: bytes, header_length: str | None, output_names: tuple[str, ...] = (LABEL, PROBABILITIES)
) -> InferRequest:
    """Decode a JSON or binary-extension request body; malformed input raises 400s.

    ``output_names`` are the outputs the model has (all returned unless ``outputs`` asks)."""
    binary = b""
    if header_length is not None:
        size = _header_size(header_length, len(body))
        body, binary = body[:size], body[size:]
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidJSON(f"the inference request is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise InvalidShape("the inference request must be a JSON object with 'inputs'")
    inputs = doc.get("inputs")
    if not isinstance(inputs, list) or not 0 < len(inputs) <= MAX_INPUTS:
        raise InvalidShape(
            f"send one tensor in 'inputs' (named {INPUT_NAME!r}), or one per column for a "
            f"tabular model (at most {MAX_INPUTS})"
        )
    tensors, used, view = [], 0, memoryview(binary)
    for spec in inputs:
        name, tensor, size = _input_tensor(spec, view[used:])
        tensors.append((name, tensor))
        used += size
    names = [name for name, _ in tensors]
    if len(set(names)) != len(names):
        raise InvalidShape("input names must be distinct")
    if used != len(binary):
        raise BadRequest(
            f"{len(binary) - used} bytes of binary data are not claimed by any input's "
            "binary_data_size"
        )
    request_id = doc.get("id")
    parameters = doc.get("parameters")
    return InferRequest(
        id=str(request_id) if request_id is not None else None,
        name=tensors[0][0],
        tensor=tensors[0][1],
        outputs=_requested_outputs(doc, output_names),
        tensors=tuple(tensors),
        parameters=parameters if isinstance(parameters, dict) else {},
    )


def _header_size(raw: str, body_size: int) -> int:
    try:
        size = int(raw)
    except ValueError:
        size = -1
    if not 0 < size <= body_size:
        raise BadRequest(
            f"{HEADER_LENGTH} must be an integer between 1 and the body size ({body_size})"
        )
    return size


def _input_tensor(spec: Any, binary: memoryview) -> tuple[str, np.ndarray, int]:
    if not isinstance(spec, dict):
        raise InvalidShape("each input must be an object with name, shape, datatype and data")
    name, shape, datatype = spec.get("name"), spec.get("shape"), spec.get("datatype")
    if not isinstance(name, str):
        raise InvalidShape("the input needs a string 'name'")
    if not (
        isinstance(shape, list)
        and shape
        and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)
    ):
        raise InvalidShape(f"input {name!r}: 'shape' must be a list of non-negative integers")
    if len(shape) > MAX_DIMS:
        raise InvalidShape(
            f"input {name!r}: 'shape' has {len(shape)} dimensions; at most {MAX_DIMS}"
        )
    if math.prod(d or 1 for d in shape) > MAX_SHAPE_ELEMENTS:
        raise InvalidShape(f"input {name!r}: 'shape' {shape} is larger than any request holds")
    if datatype not in INPUT_DATATYPES:
        raise InvalidDatatype(
            f"input {name!r}: datatype {datatype!r} is not accepted; use one of "
            f"{', '.join(NUMERIC_INPUTS)} (FP32 recommended), or per column BYTES/BOOL/INT64/FP64"
        )
    count = math.prod(shape)
    parameters = spec.get("parameters") or {}
    size = parameters.get("binary_data_size") if isinstance(parameters, dict) else None
    if datatype == "BYTES":
        return _bytes_tensor(name, shape, count, spec.get("data"), size, binary)
    dtype = DATATYPES[datatype]
    if size is not None:
        if not isinstance(size, int) or size != count * dtype.itemsize or size > len(binary):
            raise InvalidShape(
                f"input {name!r}: binary_data_size must be {count * dtype.itemsize} bytes "
                f"({datatype} x shape {shape}) and present after the JSON header"
            )
        return name, np.frombuffer(binary, dtype=dtype, count=count).reshape(shape), size
    data = spec.get("data")
    if data is None:
        raise InvalidShape(f"input {name!r} has neither 'data' nor a binary_data_size")
    try:
        array = np.asarray(data, dtype=np.float64 if dtype.kind == "f" else dtype)
    except (TypeError, ValueError, OverflowError):
        raise InvalidDatatype(f"input {name!r}: 'data' must be {datatype} numbers") from None
    if array.size != count:
        raise InvalidShape(f"input {name!r}: {array.size} values do not fill shape {shape}")
    return name, array.reshape(shape), 0


def _bytes_tensor(
    name: str, shape: list[int], count: int, data: Any, size: Any, binary: memoryview
) -> tuple[str, np.ndarray, int]:
    """BYTES: JSON strings (nested as the shape), or length-prefixed UTF-8 binary elements."""
    if size is not None:
        if not isinstance(size, int) or not 0 <= size <= len(binary):
            raise InvalidShape(f"input {name!r}: binary_data_size exceeds the binary data")
        items = _length_prefixed(name, bytes(binary[:size]), count)
    elif data is None:
        raise InvalidShape(f"input {name!r} has neither 'data' nor a binary_data_size")
    else:
        items = _flatten(data)
        if items is None or not all(isinstance(v, str) or v is None for v in items):
            raise InvalidDatatype(f"input {name!r}: BYTES 'data' must be strings (or null)")
        size = 0
    if len(items) != count:
        raise InvalidShape(f"input {name!r}: {len(items)} values do not fill shape {shape}")
    array = np.empty(count, dtype=object)
    array[:] = items
    return name, array.reshape(shape), size


def _length_prefixed(name: str, raw: bytes, count: int) -> list[str]:
    items, offset = [], 0
    while offset < len(raw) and len(items) <= count:
        length = int.from_bytes(raw[offset : offset + 4], "little")
        chunk = raw[offset + 4 : offset + 4 + length]
        if offset + 4 > len(raw) or len(chunk) != length:
            raise InvalidShape(f"input {name!r}: truncated BYTES element in the binary data")
        try:
            items.append(chunk.decode("utf-8"))
        except UnicodeDecodeError:
            raise InvalidDatatype(f"input {name!r}: a BYTES element is not UTF-8") from None
        offset += 4 + length
    return items


def _flatten(data: Any) -> list | None:
    """Row-major values of a (possibly nested) JSON list; None if it is not a list."""
    if not isinstance(data, list):
        return None
    flat: list = []
    stack = [iter(data)]
    while stack:
        for item in stack[-1]:
            if isinstance(item, list):
                stack.append(iter(item))
                break
            flat.append(item)
        else:
            stack.pop()
    return flat


def _requested_outputs(doc: dict, names: tuple[str, ...]) -> dict[str, bool]:
    parameters = doc.get("parameters") or {}
    default_binary = bool(isinstance(parameters, dict) and parameters.get("binary_data_output"))
    outputs = doc.get("outputs")
    if outputs is None:
        return dict.fromkeys(names, default_binary)
    if not isinstance(outputs, list):
        raise InvalidShape("'outputs' must be a list of {name, parameters} objects")
    wanted = {}
    for spec in outputs:
        name = spec.get("name") if isinstance(spec, dict) else None
        if name not in names:
            raise InvalidShape(
                f"unknown output {name!r}; outputs are {', '.join(repr(n) for n in names)}"
            )
        params = spec.get("parameters") or {}
        wanted[name] = (
            bool(params.get("binary_data", default_binary))
            if isinstance(params, dict)
            else default_binary
        )
    return wanted


def rows_of(tensor: np.ndarray, model: Model, name: str) -> np.ndarray:
    """Accept [n, features], [n, 28, 28]-style or a single [features] row → (n, features)."""
    shape = tensor.shape
    if tensor.dtype.kind not in "iuf":
        raise InvalidDatatype(
            f"input {name!r}: model {model.name!r} takes numbers; use one of "
            f"{', '.join(NUMERIC_INPUTS)} (FP32 recommended)"
        )
    if len(shape) >= 2 and math.prod(shape[1:]) == model.n_features:
        rows = tensor.reshape(shape[0], model.n_features)
    elif len(shape) == 1 and shape[0] == model.n_features:
        rows = tensor.reshape(1, model.n_features)
    else:
        raise InvalidShape(
            f"input {name!r} has shape {list(shape)}; model {model.name!r} takes "
            f"[-1, {model.n_features}]"
        )
    return rows if rows.dtype == np.float64 else rows.astype(np.float64)


def per_column(request: InferRequest, model: Model) -> bool:
    """Whether a tabular model's request sends one input per column (else one matrix)."""
    if len(request.tensors) != 1:
        return True
    return request.name in set(model.inputs.column_names) or request.tensor.dtype.kind not in "iuf"


def columns_of(request: InferRequest) -> dict[str, list]:
    """Per-column inputs of shape [n] or [n, 1] → {name: values} (NaN stays: it is missing)."""
    columns = {}
    for name, array in request.tensors:
        if array.ndim not in (1, 2) or (array.ndim == 2 and array.shape[1] != 1):
            raise InvalidShape(
                f"input {name!r} has shape {list(array.shape)}; a column takes [-1] or [-1, 1]"
            )
        columns[name] = array.reshape(-1).tolist()
    return columns


def output_names(model: Model) -> tuple[str, ...]:
    if not model.is_classifier:
        return (PREDICTIONS,)
    return (LABEL, PROBABILITIES) if model.has_probabilities else (LABEL,)


def label_datatype(model: Model) -> str:
    kind = model.classes.dtype.kind
    if kind in "iu":
        return "INT64"
    if kind == "f":
        return "FP64"
    if kind == "b":
        return "BOOL"
    return "BYTES"


def metadata(model: Model, versions: list[str]) -> dict[str, Any]:
    """Model metadata as the protocol defines it (inputs/outputs with datatype and shape).

    Tabular models list one input per column, as MLServer's pandas codec (``content_type``
    ``pd``) does; image and vector models their one FP32 tensor."""
    if not model.is_classifier:
        datatype = "FP64" if model.task == "regression" else "INT64"
        outputs = [{"name": PREDICTIONS, "datatype": datatype, "shape": [-1]}]
        parameters: dict[str, Any] = {"task": model.task}
    else:
        outputs = [{"name": LABEL, "datatype": label_datatype(model), "shape": [-1]}]
        if model.has_probabilities:
            outputs.append(
                {"name": PROBABILITIES, "datatype": "FP32", "shape": [-1, len(model.labels)]}
            )
        parameters = {"task": model.task, "classes": model.labels}
    if model.is_tabular:
        inputs = [_column_metadata(column) for column in model.inputs.columns]
        parameters["content_type"] = "pd"
    else:
        inputs = [{"name": INPUT_NAME, "datatype": "FP32", "shape": [-1, model.n_features]}]
    return {
        "name": model.name,
        "versions": versions,
        "platform": "scikit-learn",
        "inputs": inputs,
        "outputs": outputs,
        "parameters": parameters,
    }


def _column_metadata(column: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": column.name,
        "datatype": COLUMN_DATATYPES[column.type],
        "shape": [-1, 1],
    }
    parameters: dict[str, Any] = {"nullable": column.nullable}
    if column.type == "string":
        parameters["content_type"] = "str"
    if column.categories is not None:
        parameters["categories"] = list(column.categories)
        parameters["unseen"] = column.unseen
    entry["parameters"] = parameters
    return entry


def encode_response(
    request: InferRequest, model: Model, prediction: Prediction
) -> tuple[bytes, int | None]:
    """Response body and, when any output is binary, the JSON header length."""
    tensors: dict[str, tuple[str, np.ndarray]] = {}
    if PREDICTIONS in request.outputs:
        values = prediction.values
        tensors[PREDICTIONS] = ("FP64" if values.dtype.kind == "f" else "INT64", values)
    if LABEL in request.outputs:
        tensors[LABEL] = (label_datatype(model), model.classes[prediction.indices])
    if PROBABILITIES in request.outputs:
        if prediction.probabilities is None:
            raise BadRequest(f"model {model.name!r} does not produce probabilities")
        tensors[PROBABILITIES] = ("FP32", prediction.probabilities.astype(np.float32))
    outputs, chunks = [], []
    for name, (datatype, array) in tensors.items():
        entry: dict[str, Any] = {"name": name, "datatype": datatype, "shape": list(array.shape)}
        if request.outputs[name]:
            chunk = _binary(array, datatype)
            entry["parameters"] = {"binary_data_size": len(chunk)}
            chunks.append(chunk)
        else:
            entry["data"] = array.ravel().tolist()
        outputs.append(entry)
    doc: dict[str, Any] = {"model_name": model.name, "model_version": model.version}
    if request.id is not None:
        doc["id"] = request.id
    doc["outputs"] = outputs
    header = orjson.dumps(doc)
    if not chunks:
        return header, None
    return header + b"".join(chunks), len(header)


def _binary(array: np.ndarray, datatype: str) -> bytes:
    if datatype == "BYTES":
        parts = []
        for item in array.ravel().tolist():
            raw = str(item).encode()
            parts.append(len(raw).to_bytes(4, "little") + raw)
        return b"".join(parts)
    return np.ascontiguousarray(array, dtype=DATATYPES[datatype]).tobytes()
