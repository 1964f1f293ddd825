"""The lean multipart reader behind ``POST /predict``: what it finds, what it refuses."""

from __future__ import annotations

import io

import pytest
import werkzeug.test
from werkzeug.test import EnvironBuilder

from serving.errors import InvalidMultipart
from serving.multipart import MAX_PART_HEADER_BYTES, MAX_PARTS, field_bytes

from .conftest import png_bytes
from .helpers import assert_problem

B = "xYz0123"


def part(name: str, content: bytes, filename: str | None = "d.png", extra: str = "") -> bytes:
    disposition = f'form-data; name="{name}"' + (
        f'; filename="{filename}"' if filename is not None else ""
    )
    head = f"--{B}\r\nContent-Disposition: {disposition}\r\n{extra}\r\n"
    return head.encode() + content + b"\r\n"


def form(*parts: bytes, preamble: bytes = b"") -> bytes:
    return preamble + b"".join(parts) + f"--{B}--\r\n".encode()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (form(part("file", b"PNG")), b"PNG"),
        (form(part("file", b"")), b""),
        (form(part("other", b"a"), part("file", b"b"), part("file", b"c")), b"b"),
        (form(part("file", b"no name", filename=None)), b"no name"),
        (form(part("file", b"typed", extra="Content-Type: image/png\r\n")), b"typed"),
        (form(part("file", b"x"), preamble=b"ignored preamble\r\n"), b"x"),
        (form(part("file", b"line\r\n--notTheBoundary\r\n")), b"line\r\n--notTheBoundary\r\n"),
        (form(part("other", b"a")), None),
        (form(), None),
        (
            form(part("file", b"pad")).replace(f"--{B}\r\n".encode(), f"--{B} \t\r\n".encode()),
            b"pad",
        ),
    ],
    ids=[
        "one",
        "empty",
        "first-of-several",
        "no-filename",
        "content-type",
        "preamble",
        "dashes-inside",
        "absent",
        "no-parts",
        "transport-padding",
    ],
)
def test_finds_the_named_part(body, expected):
    assert field_bytes(body, B, "file") == expected


def test_agrees_with_werkzeugs_own_encoder(monkeypatch):
    """Werkzeug's test client lets an empty part share its CRLF with the next delimiter.

    Its boundary is built from time() and random(), and their digits make it longer than
    RFC 2046's 70 characters now and then (which the parser refuses, as it should): fixed here
    so the test checks the CRLF, every time.
    """
    monkeypatch.setattr(werkzeug.test, "time", lambda: 1765000000.25)
    monkeypatch.setattr(werkzeug.test, "random", lambda: 0.5)
    for content in (b"", b"\x89PNG\r\n\x1a\n" + bytes(range(256))):
        builder = EnvironBuilder(method="POST", data={"a": "1", "file": (io.BytesIO(content), "f")})
        environ = builder.get_environ()
        boundary = environ["CONTENT_TYPE"].split("boundary=")[1].strip('"')
        assert field_bytes(environ["wsgi.input"].read(), boundary, "file") == content


@pytest.mark.parametrize(
    ("body", "boundary", "match"),
    [
        (form(part("file", b"x")), None, "boundary parameter"),
        (form(part("file", b"x")), "", "boundary parameter"),
        (form(part("file", b"x")), "b" * 71, "boundary parameter"),
        (form(part("file", b"x")), "bé", "boundary parameter"),
        (b"just some bytes", B, "does not contain its boundary"),
        (f"--{B}".encode(), B, "delimiter line"),
        (f"--{B}junk\r\n\r\nx".encode(), B, "delimiter line"),
        (part("file", b"never closed"), B, "ends inside a part"),
        (f"--{B}\r\nX: {'h' * MAX_PART_HEADER_BYTES}\r\n\r\n".encode(), B, "headers do not end"),
        (form(*[part("f", b"")] * (MAX_PARTS + 1)), B, "more than"),
    ],
    ids=[
        "no-boundary",
        "empty-boundary",
        "long-boundary",
        "non-ascii-boundary",
        "boundary-absent",
        "truncated-after-delimiter",
        "junk-after-delimiter",
        "unterminated-part",
        "huge-part-header",
        "too-many-parts",
    ],
)
def test_malformed_bodies_are_refused(body, boundary, match):
    with pytest.raises(InvalidMultipart, match=match):
        field_bytes(body, boundary, "file")


def test_malformed_upload_is_a_400_problem(client):
    response = client.post(
        "/predict",
        data=b"--abc\r\nContent-Disposition: form-data; name=file\r\n\r\nunterminated",
        content_type="multipart/form-data; boundary=abc",
    )
    assert_problem(response, 400, "invalid-multipart")


def test_upload_without_boundary_is_a_400_problem(client):
    response = client.post("/predict", data=b"x", content_type="multipart/form-data")
    assert "boundary" in assert_problem(response, 400, "invalid-multipart")["detail"]


def test_file_field_without_filename_is_served(client, digit):
    """What ``curl -F file=<digit.png`` sends: a plain field, no filename."""
    body = form(part("file", png_bytes(digit[0]), filename=None))
    response = client.post("/predict", data=body, content_type=f"multipart/form-data; boundary={B}")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["digit"] in range(10)


def test_upload_over_the_body_limit_is_413_before_parsing(session_store, digit):
    from serving import create_app

    png = png_bytes(digit[0])
    app = create_app(session_store.config(max_body_bytes=len(png) + 50))
    body = form(part("file", png))
    response = app.test_client().post(
        "/predict", data=body, content_type=f"multipart/form-data; boundary={B}"
    )
    assert_problem(response, 413, "body-too-large")
