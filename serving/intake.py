"""What a request may cost before it runs, decided from its head: the body limit and credentials.

One policy for both places that enforce it: the buffering worker's event loop
(:mod:`serving.worker`), which refuses an over-limit body before reading it and never buffers a
body an open endpoint does not take, and the application's ``before_request`` check
(:mod:`serving.limits`), which covers every other worker and the test client.

- Open endpoints (probes, ``/metrics``, documentation, the page, ``/auth/token``) take no
  body at all.
- Multipart uploads and the binary tensors of a V2 request (``Inference-Header-Content-Length``)
  may use ``SERVING_MAX_BODY_BYTES``.
- Every other body is parsed text (JSON, CSV) and gets ``SERVING_MAX_JSON_BYTES``.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import Flask
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import RequestRedirect

from .auth.views import EXTENSION_KEY as AUTH_KEY
from .settings import Settings

EXTENSION_KEY = "model_server_intake"


class Intake:
    """The limits and checks of :mod:`serving.intake` for one application."""

    def __init__(self, app: Flask, settings: Settings, open_blueprints: Iterable[str]) -> None:
        self.app = app
        self.open_blueprints = frozenset((*open_blueprints, ""))  # "": Flask's static files
        self.max_body = settings.max_body_bytes
        self.max_json = min(settings.max_json_bytes, settings.max_body_bytes)

    def body_limit(self, method: str, path: str, content_type: str, binary: bool) -> int:
        """The most body bytes ``method path`` may carry, by its route and content type.

        ``binary`` says the request has a V2 ``Inference-Header-Content-Length``. Unknown
        routes get the JSON limit: the application answers them 404/405 without reading.
        """
        if self.is_open(method, path):
            return 0
        mimetype = content_type.split(";", 1)[0].strip().lower()
        if mimetype == "multipart/form-data" or binary:
            return self.max_body
        return self.max_json

    def too_large(self, limit: int) -> str:
        """What a client whose body is over ``limit`` (from :meth:`body_limit`) should change."""
        if limit == 0:
            return "this endpoint takes no request body"
        if limit == self.max_json:
            return (
                f"the body is over the limit of {limit} bytes for JSON "
                "(SERVING_MAX_JSON_BYTES); send large batches as V2 binary tensors "
                "(Inference-Header-Content-Length) or in several requests"
            )
        return f"the body is over the limit of {limit} bytes (SERVING_MAX_BODY_BYTES)"

    def is_open(self, method: str, path: str) -> bool:
        """Whether ``path`` is an endpoint anyone may call (it never reads a body).

        Another method on an open path (``POST /healthz``) is open too: it gets a 405 and no
        more reading than the endpoint's own methods would.
        """
        adapter = self.app.url_map.bind("localhost")
        try:
            endpoint, _ = adapter.match(path, method=method or "GET")
        except MethodNotAllowed as exc:
            if not exc.valid_methods:
                return False
            return self.is_open(exc.valid_methods[0], path)
        except (HTTPException, RequestRedirect):
            return False
        return endpoint.rpartition(".")[0] in self.open_blueprints

    def credentialed(self, authorization: str) -> bool:
        """Whether an ``Authorization`` value is valid here (always true with auth off).

        The check is the guard's own (a key digest compared, or a token's signature): bounded
        CPU, no I/O, safe to run on the event loop.
        """
        guard = self.app.extensions.get(AUTH_KEY)
        return guard is None or guard.accepts(authorization)


def install(app: Flask, settings: Settings, open_blueprints: Iterable[str]) -> Intake:
    """Attach the intake; ``open_blueprints`` name the blueprints anyone may call."""
    intake = Intake(app, settings, open_blueprints)
    app.extensions[EXTENSION_KEY] = intake
    return intake


def of(app: object) -> Intake | None:
    """The intake of a WSGI application built by :func:`serving.create_app`, if it is one."""
    return getattr(app, "extensions", {}).get(EXTENSION_KEY)
