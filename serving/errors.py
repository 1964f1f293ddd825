"""Every error a client can cause, with its HTTP status, rendered one way: problem+json.

Each class carries ``status``, a short ``title`` and a ``slug`` that becomes the problem
``type``; the message is the ``detail`` and must tell the client what to change. Views raise
these; :func:`register_error_handlers` turns them (and werkzeug's own HTTP errors) into
RFC 9457 ``application/problem+json`` bodies, so a bad request can never become a 500 with a
stack trace. Open Inference Protocol clients (tritonclient) read an ``error`` member, so the
body carries the detail there too.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, json, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "urn:model-server:problem:"


class ServingError(Exception):
    """Base class: a request that cannot be served, and why."""

    status = 500
    title = "Internal server error"
    slug = "internal"
    headers: tuple[tuple[str, str], ...] = ()  # added to the response, e.g. Retry-After

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class BadRequest(ServingError):
    status, title, slug = 400, "Bad request", "bad-request"


class MissingField(BadRequest):
    status, title, slug = 400, "Missing field", "missing-field"


class InvalidJSON(BadRequest):
    status, title, slug = 400, "Invalid JSON", "invalid-json"


class InvalidMultipart(BadRequest):
    status, title, slug = 400, "Malformed multipart body", "invalid-multipart"


class InvalidShape(BadRequest):
    status, title, slug = 400, "Wrong input shape", "invalid-shape"


class InvalidDatatype(BadRequest):
    status, title, slug = 400, "Wrong data type", "invalid-datatype"


class NonFiniteValue(BadRequest):
    status, title, slug = 400, "Non-finite input value", "non-finite"


class OutOfRange(BadRequest):
    status, title, slug = 400, "Input value out of range", "out-of-range"


class BatchTooLarge(BadRequest):
    status, title, slug = 413, "Batch too large", "batch-too-large"


class TooManyValues(BadRequest):
    status, title, slug = 413, "Too many values", "too-many-values"


class BodyTooLarge(BadRequest):
    status, title, slug = 413, "Request body too large", "body-too-large"


class ImageError(BadRequest):
    status, title, slug = 400, "Not a usable image", "invalid-image"


class NotAnImage(ImageError):
    status, title, slug = 400, "Not an image", "not-an-image"


class TruncatedImage(ImageError):
    status, title, slug = 400, "Truncated or corrupt image", "truncated-image"


class UnsupportedImageFormat(ImageError):
    status, title, slug = 415, "Unsupported image format", "unsupported-image-format"


class DecompressionBomb(ImageError):
    status, title, slug = 413, "Image too large", "image-too-large"


class InputMismatch(BadRequest):
    """The rows do not fit the model's typed input schema; ``problems`` lists every reason."""

    status, title, slug = 400, "Input does not match the model's schema", "schema-mismatch"


class ModelRefused(BadRequest):
    """The estimator itself refused rows that passed validation (MLflow answers 400 too)."""

    status, title, slug = 400, "The model could not score these rows", "model-refused"


class WrongModelKind(BadRequest):
    """The endpoint does not apply to this kind of model (a recommender asked for a digit, a
    classifier asked for recommendations)."""

    status, title, slug = 400, "Not supported by this model", "wrong-model-kind"


class UnsupportedMediaType(ServingError):
    status, title, slug = 415, "Unsupported media type", "unsupported-media-type"


class ModelNotFound(ServingError):
    status, title, slug = 404, "Model not found", "model-not-found"


class VersionNotFound(ModelNotFound):
    status, title, slug = 404, "Model version not found", "version-not-found"


class MetricsDisabled(ServingError):
    status, title, slug = 404, "Metrics disabled", "metrics-disabled"


class NoModelLoaded(ServingError):
    status, title, slug = 503, "No model loaded", "no-model-loaded"


class InvalidTimeout(BadRequest):
    status, title, slug = 400, "Invalid request timeout", "invalid-timeout"


class Overloaded(ServingError):
    """Refused by admission control (serving.admission); the same body the worker writes."""

    status, title, slug = 503, "Server overloaded", "overloaded"
    headers = (("Retry-After", "1"),)


class DeadlineExceeded(ServingError):
    status, title, slug = 504, "Deadline exceeded", "deadline-exceeded"


def problem(status: int, title: str, detail: str, slug: str, **extra: Any) -> Response:
    """An ``application/problem+json`` response (RFC 9457) with an OIP-style ``error`` member."""
    body = {
        "type": PROBLEM_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.path,
        "error": detail,
        **extra,
    }
    return Response(json.dumps(body), status=status, mimetype=PROBLEM_JSON)


def _serving_error(exc: ServingError) -> Response:
    log.info("%s %s -> %d %s: %s", request.method, request.path, exc.status, exc.slug, exc.detail)
    response = problem(exc.status, exc.title, exc.detail, exc.slug, **exc.extra)
    response.headers.extend(exc.headers)
    return response


def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    if isinstance(exc, RequestEntityTooLarge):
        limit = request.max_content_length
        detail = (
            f"request body is larger than the limit of {limit} bytes "
            "(SERVING_MAX_BODY_BYTES; SERVING_MAX_JSON_BYTES for JSON)"
        )
        return problem(413, "Request body too large", detail, "body-too-large")
    slug = (exc.name or "error").lower().replace(" ", "-")
    response = problem(status, exc.name, exc.description or exc.name, slug)
    if status == 405 and exc.response is None:
        allowed = getattr(exc, "valid_methods", None)
        if allowed:
            response.headers["Allow"] = ", ".join(allowed)
    return response


def _unexpected(exc: Exception) -> Response:
    """Last resort: log the traceback, tell the client nothing about internals."""
    log.exception("unhandled error on %s %s", request.method, request.path)
    return problem(500, "Internal server error", "the server failed; see its logs", "internal")


def register_error_handlers(app: Flask) -> None:
    """Install the one rendering of errors for every blueprint."""
    app.register_error_handler(ServingError, _serving_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
