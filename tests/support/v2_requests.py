"""Open Inference Protocol (V2) request bodies for a float32 batch: JSON and binary extension.

The benchmarks and the end-to-end tests send the same two encodings of one ``input`` tensor;
they are written once here. The binary form is the tensor extension Triton clients use: a JSON
header whose input declares ``binary_data_size``, then the raw little-endian float32 bytes, the
header's length sent in ``Inference-Header-Content-Length``. Standard library and numpy only;
tests and benchmarks both import ``tests.support.v2_requests``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np

INPUT = "input"
HEADER_LENGTH = "Inference-Header-Content-Length"


def json_body(rows: np.ndarray, outputs: Sequence[str] = ()) -> bytes:
    """``rows`` as one FP32 tensor with its values inline; ``outputs`` asks for those by name."""
    tensor = {
        "name": INPUT,
        "shape": list(rows.shape),
        "datatype": "FP32",
        "data": rows.astype(np.float32).ravel().tolist(),
    }
    doc: dict = {"inputs": [tensor]}
    if outputs:
        doc["outputs"] = [{"name": name} for name in outputs]
    return json.dumps(doc).encode()


def binary_body(rows: np.ndarray, outputs: Sequence[str] = ()) -> tuple[bytes, int]:
    """``rows`` in the binary tensor extension: (body, JSON header length).

    ``outputs`` are asked for as binary too; without them the server answers in JSON.
    """
    raw = rows.astype("<f4").tobytes()
    tensor = {
        "name": INPUT,
        "shape": list(rows.shape),
        "datatype": "FP32",
        "parameters": {"binary_data_size": len(raw)},
    }
    doc: dict = {"inputs": [tensor]}
    if outputs:
        doc["outputs"] = [{"name": name, "parameters": {"binary_data": True}} for name in outputs]
    header = json.dumps(doc).encode()
    return header + raw, len(header)
