"""Per-request body limits by what the body is: uploads may be large, parsed text may not.

Parsed JSON costs about 30 times its size in memory (a Python float object per number): an 8 MiB
body grew a worker by ~235 MiB. So only multipart uploads and the raw tensor bytes of the V2
binary extension get ``SERVING_MAX_BODY_BYTES``; every other body (JSON, and the JSON header of
a binary V2 request) gets the smaller ``SERVING_MAX_JSON_BYTES``, and open endpoints take none
(:mod:`serving.intake` holds the rule). The buffering worker applies the same limit from the
request's head before reading the body; this check covers every other worker and the test
client. A declared size over the limit is refused before anything is read; a chunked body is
cut off by Werkzeug at the limit.
"""

from __future__ import annotations

from flask import Flask, request

from .errors import BodyTooLarge
from .intake import Intake
from .oip import HEADER_LENGTH


def install(app: Flask, intake: Intake, max_json_bytes: int) -> None:
    """Check every request's body size against the limit for its route and kind."""

    def bound_body() -> None:
        header = request.headers.get(HEADER_LENGTH)
        if header is not None:
            _check_json_header(header, max_json_bytes)
        limit = intake.body_limit(
            request.method, request.path, request.content_type or "", header is not None
        )
        size = request.content_length
        if size is None and request.environ.get("wsgi.input_terminated"):
            # chunked: Werkzeug would silently cut the body at the limit; read one byte more
            # (cached for the view) to tell a body at the limit from one over it
            request.max_content_length = limit + 1
            size = len(request.get_data(cache=True))
        if size is not None and size > limit:
            raise BodyTooLarge(intake.too_large(limit))
        request.max_content_length = limit

    app.before_request(bound_body)


def _check_json_header(raw: str, limit: int) -> None:
    try:
        size = int(raw)
    except ValueError:
        return  # serving.oip refuses it with the rules for the header
    if size > limit:
        raise BodyTooLarge(
            f"the {size}-byte JSON header is over the limit of {limit} bytes "
            "(SERVING_MAX_JSON_BYTES); put tensor data in the binary part"
        )
