"""Helpers several serving test modules share: the problem+json check and a V2 binary body."""

from __future__ import annotations

import json

import numpy as np

from serving.oip import HEADER_LENGTH


def assert_problem(response, status: int, slug: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json(force=True)
    assert body["status"] == status
    assert body["type"].endswith(":" + slug)
    assert body["title"]
    assert body["detail"]
    assert "Traceback" not in response.get_data(as_text=True)
    return body


def binary_request(rows: np.ndarray, outputs: list[dict] | None = None) -> tuple[bytes, dict]:
    raw = rows.astype("<f4").tobytes()
    doc = {
        "inputs": [
            {
                "name": "input",
                "shape": list(rows.shape),
                "datatype": "FP32",
                "parameters": {"binary_data_size": len(raw)},
            }
        ]
    }
    if outputs is not None:
        doc["outputs"] = outputs
    header = json.dumps(doc).encode()
    return header + raw, {HEADER_LENGTH: str(len(header))}
