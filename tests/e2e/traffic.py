"""Request bodies for every endpoint, and a small keep-alive client that counts outcomes."""

from __future__ import annotations

import http.client
import io
import json
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import numpy as np
from PIL import Image

from tests.support.v2_requests import HEADER_LENGTH, binary_body, json_body


@dataclass(frozen=True)
class Call:
    """One request: method, path, body and headers (auth added by the client)."""

    name: str
    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    files: dict | None = None
    auth: bool = True


def png(pixels: np.ndarray, scale: int = 1, mode: str = "L") -> bytes:
    image = Image.fromarray((pixels.reshape(28, 28) * 255).astype(np.uint8))
    if scale > 1:
        image = image.resize((28 * scale, 28 * scale))
    buffer = io.BytesIO()
    image.convert(mode).save(buffer, format="PNG")
    return buffer.getvalue()


def v2_binary(rows: np.ndarray) -> tuple[bytes, dict[str, str]]:
    """``rows`` in the V2 binary tensor extension, with the headers that announce it."""
    body, header_length = binary_body(rows)
    return body, {"Content-Type": "application/octet-stream", HEADER_LENGTH: str(header_length)}


def mixed_calls(rows: np.ndarray) -> list[Call]:
    """One call per endpoint family: seed image and JSON, V1, V2 JSON/binary, probes."""
    jtype = {"Content-Type": "application/json"}
    binary, binary_headers = v2_binary(rows[:8])
    return [
        Call("predict-image", "POST", "/predict", files={"file": ("d.png", png(rows[0]))}),
        Call(
            "predict-image-rgba-large",
            "POST",
            "/predict",
            files={"file": ("d.png", png(rows[1], scale=4, mode="RGBA"))},
        ),
        Call(
            "predict-json",
            "POST",
            "/predict",
            json.dumps({"pixels": rows[2].tolist()}).encode(),
            jtype,
        ),
        Call(
            "v1",
            "POST",
            "/v1/models/mnist:predict",
            json.dumps({"instances": rows[:3].tolist()}).encode(),
            jtype,
        ),
        Call("v2-json", "POST", "/v2/models/mnist/infer", json_body(rows[:4]), jtype),
        Call("v2-binary", "POST", "/v2/models/mnist/infer", binary, binary_headers),
        Call("v2-metadata", "GET", "/v2/models/mnist"),
        Call("healthz", "GET", "/healthz", auth=False),
        Call("readyz", "GET", "/readyz", auth=False),
        Call("metrics", "GET", "/metrics", auth=False),
    ]


class Client:
    """A keep-alive HTTP/1.1 connection that records statuses and failures per call name.

    Plain ``http.client`` with bodies encoded once: the soak measures the server, and a
    heavier client would share the same two cores with it.
    """

    def __init__(self, base: str, api_key: str, timeout: float = 30) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname, parts.port
        self.auth = {"Authorization": f"Bearer {api_key}"}
        self.timeout = timeout
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        self.statuses: Counter[tuple[str, int]] = Counter()
        self.failures: list[str] = []

    def send(self, call: Call) -> tuple[int, bytes] | None:
        body, headers = encoded(call)
        headers = {**headers, **(self.auth if call.auth else {})}
        try:
            self.conn.request(call.method, call.path, body=body, headers=headers)
            response = self.conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.failures.append(f"{call.name}: {type(exc).__name__}: {exc}")
            self.conn.close()
            return None
        self.statuses[(call.name, response.status)] += 1
        if response.status >= 400:
            self.failures.append(f"{call.name}: HTTP {response.status} {data[:200]!r}")
        return response.status, data

    def close(self) -> None:
        self.conn.close()


def encoded(call: Call) -> tuple[bytes | None, dict[str, str]]:
    """The wire body and headers of ``call`` (multipart encoded by hand: cheap, no deps)."""
    if not call.files:
        return call.body, dict(call.headers)
    boundary = "e2eboundary" + "7" * 16
    body = b""
    for field_name, (filename, content) in call.files.items():
        body += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field_name}"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        ).encode()
        body += content + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return body, {**call.headers, "Content-Type": f"multipart/form-data; boundary={boundary}"}
