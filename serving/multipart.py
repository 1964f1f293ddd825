"""Find one part of a ``multipart/form-data`` body, without parsing the whole form.

``POST /predict`` needs the bytes of one field, ``file``. Werkzeug's form parser builds every
field and file of the form (a spooled file object per upload, a dict of fields) through a
general streaming state machine; on a 1 kB digit upload that was the largest single cost of the
request. Here the body is already in memory (its size is capped by ``SERVING_MAX_BODY_BYTES``
before it is read), so the field is found with a few ``bytes.find`` calls over RFC 7578's
framing and returned as one slice.

What it accepts is what Werkzeug accepts: a preamble before the first delimiter, transport
padding after a delimiter, parts in any order (the first part named ``file`` wins). A part
named ``file`` counts whether or not it has a ``filename`` (``curl -F file=<digit.png`` sends
none). What it refuses, with a 400 problem: no boundary, a body that never reaches a delimiter
or ends inside a part, an oversized part header block, and more than :data:`MAX_PARTS` parts
(so a body of tiny parts cannot buy CPU time in a Python loop).
"""

from __future__ import annotations

from werkzeug.http import parse_options_header

from .errors import InvalidMultipart

#: Parts looked at before giving up (Werkzeug's own default ``max_form_parts``).
MAX_PARTS = 1000
#: Bytes of header lines one part may carry (Content-Disposition, Content-Type, a few more).
MAX_PART_HEADER_BYTES = 8 * 1024
_CRLF = b"\r\n"
_HEADERS_END = b"\r\n\r\n"


def field_bytes(body: bytes, boundary: str | None, name: str) -> bytes | None:
    """The content of the first part called ``name``; ``None`` if the form has no such part."""
    delimiter = _delimiter(boundary)
    position = _first_delimiter_end(body, delimiter)
    separator = _CRLF + delimiter
    for _ in range(MAX_PARTS):
        if body.startswith(b"--", position):
            return None  # the closing delimiter: every part seen
        line_end = body.find(_CRLF, position)
        if line_end < 0 or body[position:line_end].strip(b" \t"):
            raise InvalidMultipart("a multipart delimiter line is malformed or truncated")
        headers_end = body.find(_HEADERS_END, line_end, line_end + MAX_PART_HEADER_BYTES + 4)
        if headers_end < 0:
            raise InvalidMultipart(
                f"a multipart part's headers do not end within {MAX_PART_HEADER_BYTES} bytes"
            )
        # An empty part may share the blank line's CRLF with the next delimiter (Werkzeug's
        # own test client writes it so), hence the search from the blank line on.
        content_end = body.find(separator, headers_end + 2)
        if content_end < 0:
            raise InvalidMultipart("the multipart body ends inside a part (no closing boundary)")
        if _part_name(body[line_end + 2 : headers_end]) == name:
            return body[headers_end + len(_HEADERS_END) : content_end]
        position = content_end + len(separator)
    raise InvalidMultipart(f"more than {MAX_PARTS} parts in one multipart body")


def _delimiter(boundary: str | None) -> bytes:
    # RFC 2046: 1 to 70 characters; anything non-ASCII cannot be matched reliably
    if not boundary or len(boundary) > 70 or not boundary.isascii():
        raise InvalidMultipart(
            "multipart/form-data needs a boundary parameter of 1 to 70 ASCII characters in "
            "Content-Type; let the HTTP client encode the form"
        )
    return b"--" + boundary.encode("ascii")


def _first_delimiter_end(body: bytes, delimiter: bytes) -> int:
    if body.startswith(delimiter):
        return len(delimiter)
    found = body.find(_CRLF + delimiter)  # after a preamble
    if found < 0:
        raise InvalidMultipart("the multipart body does not contain its boundary")
    return found + 2 + len(delimiter)


def _part_name(headers: bytes) -> str | None:
    """The ``name`` parameter of a part's ``Content-Disposition: form-data`` header."""
    for line in headers.split(_CRLF):
        field, colon, value = line.partition(b":")
        if colon and field.strip().lower() == b"content-disposition":
            kind, params = parse_options_header(value.decode("utf-8", "replace"))
            return params.get("name") if kind.lower() == "form-data" else None
    return None
