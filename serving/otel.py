"""OpenTelemetry spans for the serving app; imported only when tracing is on (serving.tracing).

One server span per request, named ``{method} {route}`` after the URL rule (bounded names),
continuing the trace of an incoming W3C ``traceparent``/``tracestate`` (through the configured
propagators, ``OTEL_PROPAGATORS``, default tracecontext and baggage); child spans for the
request's steps. Attributes are metadata only — method, route, status code, model name and
version, error class: never a body, a header value, a query string or an exception message
(those can carry payload values or credentials).

Status follows OpenTelemetry's HTTP conventions: a 5xx marks the server span as an error; a
4xx is the client's mistake, so the server span keeps status unset and carries ``error.type``
(the status code), while the step that refused the request is marked as an error with the
refusal's class.

The exporter is OTLP over HTTP/protobuf, configured by the standard variables
(``OTEL_EXPORTER_OTLP_ENDPOINT``, ``OTEL_EXPORTER_OTLP_TRACES_*``, ``OTEL_SERVICE_NAME``,
``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_TRACES_SAMPLER[_ARG]``, ``OTEL_BSP_*``) behind a batch
span processor. Each process makes its own on first use: a provider built in Gunicorn's master
would have its export thread and connections copied into every forked worker.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Collection
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, g, request
from opentelemetry import context, propagate, trace
from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from .version import __version__

if TYPE_CHECKING:
    from artifacts.runtime import Model

DEFAULT_SERVICE_NAME = "model-server"
INSTRUMENTATION = "serving"
METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT"))
_REQUEST = "otel_request"  # flask.g key: (server span, context token)

_lock = threading.Lock()
_process: tuple[int, TracerProvider] | None = None


def process_provider() -> TracerProvider:
    """This process's OTLP/HTTP provider, built on first use (in the worker, after the fork)."""
    global _process
    with _lock:
        if _process is None or _process[0] != os.getpid():
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            provider = TracerProvider(resource=resource())  # sampler from OTEL_TRACES_SAMPLER
            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
            _process = (os.getpid(), provider)
        return _process[1]


def shutdown() -> None:
    """Export what is still queued and stop this process's provider (a worker leaving)."""
    global _process
    with _lock:
        if _process is not None and _process[0] == os.getpid():
            _process[1].shutdown()
        _process = None


def resource() -> Resource:
    """``OTEL_SERVICE_NAME``/``OTEL_RESOURCE_ATTRIBUTES`` win; else the service is model-server."""
    detected = Resource.create({SERVICE_VERSION: __version__})
    if str(detected.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        detected = detected.merge(Resource({SERVICE_NAME: DEFAULT_SERVICE_NAME}))
    return detected


class RequestTracer:
    """The Flask hooks that open and close each request's server span, and its step spans."""

    def __init__(self, provider: TracerProvider | None, untraced_blueprints: Collection[str]):
        self.provider = provider
        self.untraced = frozenset(untraced_blueprints)
        self._tracer: tuple[int, trace.Tracer] | None = None

    def install(self, app: Flask) -> None:
        """Open the span before every other hook (auth and rate limits run inside it)."""
        app.before_request_funcs.setdefault(None, []).insert(0, self._start)
        app.after_request(self._status)
        app.teardown_request(self._end)

    @property
    def tracer(self) -> trace.Tracer:
        if self._tracer is None or self._tracer[0] != os.getpid():
            provider = self.provider or process_provider()
            self._tracer = (os.getpid(), provider.get_tracer(INSTRUMENTATION, __version__))
        return self._tracer[1]

    def step(self, name: str) -> AbstractContextManager[Span | None]:
        """A child of the request's span, ended on exit (not made current: steps do not nest)."""
        if _server_span() is None:  # an untraced endpoint
            return contextlib.nullcontext()
        attributes = g.get("otel_model") if name == "predict" else None
        return _Step(self.tracer.start_span(name, attributes=attributes))

    def tag_model(self, model: Model) -> None:
        server = _server_span()
        if server is not None:
            g.otel_model = {"model.name": model.name, "model.version": model.version}
            server.set_attributes(g.otel_model)

    def _start(self) -> None:
        rule = request.url_rule
        if rule is not None and request.blueprint in self.untraced:
            return
        method = request.method if request.method in METHODS else "_OTHER"
        attributes: dict[str, Any] = {"http.request.method": method, "url.scheme": request.scheme}
        if rule is not None:
            attributes["http.route"] = rule.rule
        parent = propagate.extract(request.headers)
        span = self.tracer.start_span(
            f"{method} {rule.rule}" if rule is not None else method,
            context=parent,
            kind=SpanKind.SERVER,
            attributes=attributes,
        )
        g.setdefault(_REQUEST, (span, context.attach(trace.set_span_in_context(span, parent))))

    def _status(self, response: Response) -> Response:
        span = _server_span()
        if span is not None:
            status = response.status_code
            span.set_attribute("http.response.status_code", status)
            if status >= 500:
                span.set_status(Status(StatusCode.ERROR))
            if status >= 400:
                span.set_attribute("error.type", str(status))
        return response

    def _end(self, exc: BaseException | None) -> None:
        started = g.pop(_REQUEST, None)
        if started is None:
            return
        span, token = started
        if exc is not None:  # unhandled: the client got a 500
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            span.set_attribute("error.type", type(exc).__name__)
        span.end()
        context.detach(token)


class _Step:
    """Ends a step span; a step that raised is an error, recorded by class, never by message
    (messages quote the rejected values)."""

    __slots__ = ("span",)

    def __init__(self, span: Span) -> None:
        self.span = span

    def __enter__(self) -> Span:
        return self.span

    def __exit__(self, exc_type: type[BaseException] | None, exc: object, tb: object) -> None:
        if exc_type is not None and issubclass(exc_type, Exception):
            self.span.set_status(Status(StatusCode.ERROR, exc_type.__name__))
            self.span.set_attribute("error.type", exc_type.__name__)
        self.span.end()


def _server_span() -> Span | None:
    started = g.get(_REQUEST)
    return started[0] if started is not None else None
