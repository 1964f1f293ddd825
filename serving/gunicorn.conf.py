# ruff: noqa: N999 - Gunicorn looks for this conventional file name
"""Gunicorn configuration for ``model-server`` (``gunicorn -c serving/gunicorn.conf.py``).

Values come from :class:`serving.settings.Settings` (``SERVING_*`` env), so there is one place
that documents them; ``WEB_CONCURRENCY`` (the platform convention) sets the worker count,
default one per CPU core. Command-line flags given to ``model-server`` still win.

Prometheus multiprocess mode: every worker writes its metric values to files in
``PROMETHEUS_MULTIPROC_DIR``; the master creates (or empties) that directory before forking and
drops a dead worker's live gauges in ``child_exit``.
"""

import gc
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

from serving import blas, malloc
from serving.settings import Settings

_settings = Settings.from_env()

wsgi_app = "serving.wsgi:app"
bind = [address.strip() for address in _settings.bind.split(",") if address.strip()]
workers = int(os.environ.get("WEB_CONCURRENCY") or os.cpu_count() or 1)
# What the settings say is what runs: Gunicorn would silently turn `sync` with threads > 1 into
# gthread, so sync always gets 1 thread; `buffered` is serving.worker.BufferingWorker.
if _settings.worker_class == "sync":
    worker_class, threads = "sync", 1
else:
    worker_class, threads = "serving.worker.BufferingWorker", _settings.worker_threads
graceful_timeout = _settings.graceful_timeout
timeout = max(30, _settings.graceful_timeout)
keepalive = 5
# Gunicorn 27's runtime control socket lives under $HOME: an extra local control surface that a
# read-only, non-root container neither needs nor can write. Off.
control_socket_disable = True
max_requests = 0
loglevel = _settings.log_level.lower()
errorlog = "-"
accesslog = "-" if _settings.access_log else None
# remote address, request line, status, response bytes, duration in ms, user agent
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms "%(a)s"'
forwarded_allow_ips = "127.0.0.1"
if _settings.tls_cert_file and _settings.tls_key_file:  # Settings requires both or neither
    certfile = str(_settings.tls_cert_file)
    keyfile = str(_settings.tls_key_file)

# One malloc arena per process (serving/malloc.py): set here in the master, before any worker
# or thread exists, so every forked worker inherits it.
malloc.limit_arenas(_settings.malloc_arenas)

# One BLAS thread per worker (serving/blas.py); model-server has set it already, this is for a
# plain `gunicorn -c serving/gunicorn.conf.py`.
blas.single_threaded()


def _application_logging(level: str) -> None:
    """Send the app's loggers (serving, artifacts, flask-limiter) to stderr like Gunicorn's log.

    Set up in the master, inherited by every forked worker; idempotent because Gunicorn
    re-reads this file on SIGHUP.
    """
    formatter = logging.Formatter(
        "%(asctime)s [%(process)d] [%(levelname)s] %(name)s: %(message)s", "[%Y-%m-%d %H:%M:%S %z]"
    )
    for name in ("serving", "artifacts", "flask-limiter"):  # the last: Redis down/recovered
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.propagate = False
        if not any(getattr(h, "_model_server", False) for h in logger.handlers):
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(formatter)
            handler._model_server = True
            logger.addHandler(handler)


_application_logging(_settings.log_level)

_OWNED_METRICS_DIR = "MODEL_SERVER_OWNS_METRICS_DIR"


def on_starting(server):
    """Prepare an empty multiprocess metrics directory before any worker exists."""
    if not _settings.metrics_enabled:
        return
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path:
        directory = Path(path)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):  # values of a previous run would be summed in
            stale.unlink()
    else:
        path = tempfile.mkdtemp(prefix="model-server-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
        os.environ[_OWNED_METRICS_DIR] = path
    server.log.info("prometheus multiprocess directory: %s", path)


def when_ready(server):
    """Preload (SERVING_PRELOAD): build the app and its models here, before the first fork.

    Runs after ``on_starting`` set up the metrics directory the app's metrics write to, and
    before any worker exists (see serving/preload.py). An app that cannot be built stops the
    master with Gunicorn's exit code for a worker that failed to boot.
    """
    if not _settings.preload:
        return
    from serving import preload

    try:
        app = preload.in_master(_settings)
    except Exception:
        server.log.exception("preloading the app in the master failed")
        sys.exit(3)
    if app is not None:
        server.log.info("preloaded the app and its models in the master")


def post_worker_init(worker):
    """The app and its models are loaded by now (in the master with preload): freeze the rest.

    ~180k long-lived objects (scikit-learn, scipy, the signing stack) would otherwise be
    scanned by every full garbage collection, a pause of tens of milliseconds landing on some
    unlucky request; frozen, collections only look at per-request garbage (p99 latency).
    """
    if _settings.preload:
        from serving import preload
        from serving.wsgi import app

        preload.in_worker(app)
    gc.collect()
    gc.freeze()


def worker_exit(server, worker):
    """Export the spans a worker still holds before it goes (SERVING_TRACING=otlp; else no-op)."""
    from serving import tracing

    tracing.shutdown()


def child_exit(server, worker):
    """Forget a dead worker's live gauges so /metrics does not report ghosts."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    owned = os.environ.get(_OWNED_METRICS_DIR)
    if owned:
        shutil.rmtree(owned, ignore_errors=True)
