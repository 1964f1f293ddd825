"""Request tracing: OpenTelemetry spans when ``SERVING_TRACING=otlp``, nothing at all otherwise.

Request code marks its steps with ``with tracing.step("decode"):`` and names the model it
resolved with :func:`tag_model`. With tracing off (the default) :func:`install` does nothing,
``step`` hands back one shared no-op context manager and ``opentelemetry`` is never imported:
the only cost on the hot path is a dictionary lookup. With it on, :mod:`serving.otel` (the only
module that imports OpenTelemetry) opens a server span per request and a child span per step.

The steps, in request order: ``auth`` (credential check), ``decode`` (parse the body or the
upload), ``preprocess`` (validate, convert, normalise to the model's input), ``predict`` (the
model call) and ``encode`` (build the response body).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Collection
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app

if TYPE_CHECKING:
    from artifacts.runtime import Model

    from .settings import Settings

EXTENSION_KEY = "model_server_tracing"
STEPS = ("auth", "decode", "preprocess", "predict", "encode")
_OFF: AbstractContextManager[None] = contextlib.nullcontext()


def install(
    app: Flask,
    settings: Settings,
    untraced_blueprints: Collection[str],
    provider: Any = None,
) -> None:
    """Trace ``app``'s requests when ``settings.tracing`` is ``otlp`` or a ``provider`` is given.

    ``provider`` is an OpenTelemetry SDK ``TracerProvider`` (tests pass one with an in-memory
    exporter); without it each process makes its own OTLP/HTTP provider on its first traced
    request, so under Gunicorn it is built in the worker, after the fork. Requests to
    ``untraced_blueprints`` (probes, metrics) get no span.
    """
    if provider is None and settings.tracing == "off":
        return
    from .otel import RequestTracer

    app.extensions[EXTENSION_KEY] = RequestTracer(provider, frozenset(untraced_blueprints))
    app.extensions[EXTENSION_KEY].install(app)


def check(settings: Settings) -> str | None:
    """Why tracing cannot run as configured (for ``model-server`` to report before starting)."""
    if settings.tracing == "off":
        return None
    try:
        import opentelemetry.exporter.otlp.proto.http.trace_exporter
        import opentelemetry.sdk.trace  # noqa: F401
    except ImportError as exc:
        return (
            f"SERVING_TRACING={settings.tracing} needs the OpenTelemetry packages ({exc}): "
            "pip install 'spark-model-server[tracing]'"
        )
    return None


def step(name: str) -> AbstractContextManager[Any]:
    """A child span of the request's span named ``name`` (one of :data:`STEPS`), or a no-op."""
    tracer = current_app.extensions.get(EXTENSION_KEY)
    if tracer is None:
        return _OFF
    return tracer.step(name)


def tag_model(model: Model) -> None:
    """Record the model name and version on the request's span (no-op when not traced)."""
    tracer = current_app.extensions.get(EXTENSION_KEY)
    if tracer is not None:
        tracer.tag_model(model)


def shutdown() -> None:
    """Flush and stop this process's exporter (Gunicorn ``worker_exit``); no-op when off."""
    otel = sys.modules.get(f"{__package__}.otel")
    if otel is not None:
        otel.shutdown()
