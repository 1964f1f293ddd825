"""Prometheus metrics: requests by route and status, predictions by class, load failures, and
requests refused by admission control or their deadline.

Under Gunicorn every worker is its own process, so the metrics use prometheus-client's
multiprocess mode when ``PROMETHEUS_MULTIPROC_DIR`` is set (``gunicorn.conf.py`` sets it up and
cleans up after dead workers): each process writes its values to files there and ``/metrics``
aggregates them. Without it (tests, a single process) an app-private registry is used, so
several apps in one process do not collide.
"""

from __future__ import annotations

import os
import time

import numpy as np
from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from artifacts.runtime import Model, Prediction

from .registry import Snapshot

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class Metrics:
    """The application's metric families and the hooks that feed them."""

    def __init__(self) -> None:
        self.multiprocess = multiprocess_dir() is not None
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.requests = Counter(
            "model_server_requests",
            "HTTP requests by route template, method and status code.",
            ["route", "method", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "model_server_request_duration_seconds",
            "Time spent handling a request, by route template.",
            ["route", "method"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.predictions = Counter(
            "model_server_predictions",
            "Predicted rows by model, version and predicted class.",
            ["model", "version", "label"],
            registry=registry,
        )
        self.recommendations = Counter(
            "model_server_recommendations",
            "Users answered by recommender models, by model, version and whether the answer "
            "was the cold-start fallback (an unknown user).",
            ["model", "version", "cold_start"],
            registry=registry,
        )
        self.load_failures = Counter(
            "model_server_model_load_failures",
            "Artifacts that failed to load or verify, by reason.",
            ["model", "version", "reason"],
            registry=registry,
        )
        self.models_loaded = Gauge(
            "model_server_models_loaded",
            "Model versions currently served.",
            registry=registry,
            multiprocess_mode="max",
        )
        self.rejected = Counter(
            "model_server_rejected",
            "Requests answered without running a model, by reason: overloaded (no room, 503), "
            "wait_timeout (no thread within SERVING_ADMISSION_WAIT, 503), deadline (504).",
            ["reason"],
            registry=registry,
        )

        # Labelled children by label values, bound once per process: ``labels()`` validates
        # and locks on every call, a few microseconds three times per request.
        self._children: dict[tuple, object] = {}

    def _child(self, family, *values: str):
        key = (id(family), *values)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = family.labels(*values)
        return child

    def install(self, app: Flask) -> None:
        """Time every request and count it by route template (bounded label values)."""
        app.before_request(_start_timer)
        app.after_request(self._observe)

    def _observe(self, response: Response) -> Response:
        started = g.pop("metrics_started", None)
        rule = request.url_rule
        route = rule.rule if rule is not None else "unmatched"
        method = request.method
        self._child(self.requests, route, method, str(response.status_code)).inc()
        if started is not None:
            self._child(self.latency, route, method).observe(time.perf_counter() - started)
        return response

    def record_predictions(self, model: Model, prediction: Prediction) -> None:
        if prediction.indices is None:  # regression/clustering: no classes to count
            return
        if len(prediction.indices) == 1:  # the usual request: one row, no counting needed
            label = str(model.labels[prediction.indices[0]])
            self._child(self.predictions, model.name, model.version, label).inc()
            return
        counts = np.bincount(prediction.indices, minlength=len(model.labels))
        for index in np.flatnonzero(counts):
            label = str(model.labels[index])
            self._child(self.predictions, model.name, model.version, label).inc(int(counts[index]))

    def record_recommendations(self, model: Model, users: int, cold: int) -> None:
        if users > cold:
            self.recommendations.labels(model.name, model.version, "false").inc(users - cold)
        if cold:
            self.recommendations.labels(model.name, model.version, "true").inc(cold)

    def record_rejection(self, reason: str) -> None:
        self.rejected.labels(reason).inc()

    def record_load(self, snapshot: Snapshot) -> None:
        for failure in snapshot.failures:
            self.load_failures.labels(
                failure.name or "", failure.version or "", failure.reason
            ).inc()
        self.models_loaded.set(sum(len(versions) for versions in snapshot.models.values()))

    def exposition(self) -> Response:
        """The text exposition: aggregated over all workers in multiprocess mode."""
        if self.multiprocess:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
        else:
            registry = self.registry
        return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


def _start_timer() -> None:
    g.metrics_started = time.perf_counter()
