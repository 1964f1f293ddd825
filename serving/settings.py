"""The serving settings: every knob declared once, with its default, parser and meaning.

Precedence, lowest to highest: the defaults below → ``SERVING_*`` environment variables →
the ``config`` mapping given to :func:`serving.create_app` (tests, embedding). Secrets are
never values here: only paths of files that hold them (mounted Kubernetes Secrets).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

ENV_PREFIX = "SERVING_"
SCHEMES = ("auto", "openssf", "hmac-sha256")
SKEW_POLICIES = ("error", "warn")
WORKER_CLASSES = ("buffered", "sync")
TRACING = ("off", "otlp")
#: The smallest default max_in_flight: a few waiting requests per worker, whatever `threads` is.
MIN_IN_FLIGHT = 8
#: buffer_budget_bytes where the container has no memory limit, and its largest automatic value.
DEFAULT_BUFFER_BUDGET = 64 * 1024 * 1024
MAX_BUFFER_BUDGET = 256 * 1024 * 1024
_CGROUP_LIMITS = ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes")


def container_memory_limit() -> int | None:
    """The memory limit of this container in bytes (cgroup v2, then v1), or None if unlimited."""
    for path in _CGROUP_LIMITS:
        try:
            with open(path) as f:
                raw = f.read().strip()
        except OSError:
            continue
        if raw.isdigit() and int(raw) < 1 << 60:  # v1 says "no limit" with a huge number
            return int(raw)
        return None  # "max": unlimited
    return None


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message names the variable."""


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"expected true/false, got {raw!r}")


def _positive_int(raw: str | int) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError(f"must be a positive integer, got {raw!r}")
    return value


def _optional_path(raw: str | Path | None) -> Path | None:
    return Path(raw) if raw not in (None, "") else None


def _optional_str(raw: str | None) -> str | None:
    return raw or None


def _choice(options: tuple[str, ...]) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if raw not in options:
            raise ValueError(f"expected one of {', '.join(options)}, got {raw!r}")
        return raw

    return parse


def _log_level(raw: str) -> str:
    level = raw.strip().upper()
    if not isinstance(logging.getLevelName(level), int):
        raise ValueError(f"unknown log level {raw!r}")
    return level


def _non_negative_int(raw: str | int) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError(f"must be an integer >= 0, got {raw!r}")
    return value


def _seconds(raw: str | float) -> float:
    value = float(raw)
    if not value >= 0:
        raise ValueError(f"must be a number of seconds >= 0, got {raw!r}")
    return value


def _positive_seconds(raw: str | float) -> float:
    value = float(raw)
    if not value > 0:
        raise ValueError(f"must be a number of seconds > 0, got {raw!r}")
    return value


def _rate_limit(raw: str) -> str:
    from limits import parse_many

    try:
        parse_many(raw)
    except ValueError:
        raise ValueError(f"expected a rate like '600/minute', got {raw!r}") from None
    return raw


def _storage_uri(raw: str) -> str:
    from urllib.parse import urlsplit

    try:
        password = urlsplit(raw).password
    except ValueError:
        raise ValueError("not a storage URI like memory:// or redis://host:6379") from None
    if password:  # never echo the value: it holds a secret
        raise ValueError(
            "the URI contains a password; put it in a file and set "
            "SERVING_RATE_LIMIT_STORAGE_FILE instead (secrets only from mounted files)"
        )
    return raw


def _pins(raw: str | Mapping[str, str]) -> dict[str, str]:
    from artifacts.layout import check_name

    if isinstance(raw, Mapping):
        items = list(raw.items())
    else:
        items = [part.split("=", 1) for part in raw.split(",") if part.strip()]
    pins = {}
    for item in items:
        if len(item) != 2:
            raise ValueError(f"expected name=version pairs separated by commas, got {raw!r}")
        name, version = (str(x).strip() for x in item)
        try:
            pins[check_name(name, "model name")] = check_name(version, "version")
        except Exception as exc:  # noqa: BLE001 - re-raised as the parser's ValueError
            raise ValueError(str(exc)) from None
    return pins


def _meta(parse: Callable[[Any], Any], doc: str) -> dict[str, Any]:
    return {"parse": parse, "doc": doc}


@dataclass(frozen=True)
class Settings:
    """Everything the serving process can be told. Env var = ``SERVING_`` + field name upper."""

    model_store: Path = field(
        default=Path("model-store"),
        metadata=_meta(Path, "Directory of signed artifacts, `<name>/<version>/`."),
    )
    verify_key_file: Path | None = field(
        default=None,
        metadata=_meta(
            _optional_path,
            "Public PEM key (openssf) or HMAC secret file used to verify every artifact. "
            "Without it no model is loaded (unless insecure_skip_verify).",
        ),
    )
    signature_scheme: str = field(
        default="auto",
        metadata=_meta(
            _choice(SCHEMES), "Signature scheme of verify_key_file: auto, openssf, hmac-sha256."
        ),
    )
    insecure_skip_verify: bool = field(
        default=False,
        metadata=_meta(
            _bool, "DEVELOPMENT ONLY: load artifacts without verifying signatures. Logged loudly."
        ),
    )
    version_skew: str = field(
        default="error",
        metadata=_meta(
            _choice(SKEW_POLICIES),
            "scikit-learn/numpy differ from the artifact's manifest: error (refuse) or warn.",
        ),
    )
    default_model: str | None = field(
        default=None,
        metadata=_meta(
            _optional_str,
            "Model used when a request names none (/predict). Default: the newest artifact.",
        ),
    )
    pinned_versions: dict[str, str] = field(
        default_factory=dict,
        metadata=_meta(
            _pins,
            "Versions served as `latest`, overriding the newest: `name=version,…`. Also the only "
            "way to go back to an older version: the server never rolls `latest` back on its own.",
        ),
    )
    max_body_bytes: int = field(
        default=8 * 1024 * 1024,
        metadata=_meta(
            _positive_int, "Largest request body accepted (image uploads, binary tensors) → 413."
        ),
    )
    max_json_bytes: int = field(
        default=2 * 1024 * 1024,
        metadata=_meta(
            _positive_int,
            "Largest body that is parsed as text (JSON; for the V2 binary extension its JSON "
            "header); bigger → 413. Parsed JSON takes ~30x its size in memory.",
        ),
    )
    max_values: int = field(
        default=1_048_576,
        metadata=_meta(
            _positive_int, "Most numbers one request may send (rows × features); more → 413."
        ),
    )
    max_batch: int = field(
        default=1024,
        metadata=_meta(_positive_int, "Most rows one request may ask to predict."),
    )
    max_text_chars: int = field(
        default=100_000,
        metadata=_meta(
            _positive_int,
            "Longest value of a text column (characters) a request may send, on every protocol; "
            "longer → 400 naming the column. Tokenising costs time in proportion to it.",
        ),
    )
    max_recommend_k: int = field(
        default=1000,
        metadata=_meta(
            _positive_int, "Largest k a recommendation request may ask for; more → 400."
        ),
    )
    max_recommend_users: int = field(
        default=256,
        metadata=_meta(
            _positive_int, "Most users one recommendation request may name; more → 413."
        ),
    )
    max_image_pixels: int = field(
        default=16_777_216,
        metadata=_meta(
            _positive_int,
            "Largest uploaded image (width × height), checked from the header before decoding.",
        ),
    )
    max_image_side: int = field(
        default=8192,
        metadata=_meta(
            _positive_int,
            "Longest side of an uploaded image in pixels, checked with max_image_pixels (a "
            "16777216×1 image is within the area cap but not this one).",
        ),
    )
    log_level: str = field(
        default="INFO",
        metadata=_meta(_log_level, "Python logging level of the application."),
    )
    metrics_enabled: bool = field(
        default=True,
        metadata=_meta(_bool, "Record Prometheus metrics and serve /metrics."),
    )

    bind: str = field(
        default="127.0.0.1:8000",
        metadata=_meta(str, "Gunicorn listen address(es), comma-separated host:port or unix:path."),
    )
    worker_class: str = field(
        default="buffered",
        metadata=_meta(
            _choice(WORKER_CLASSES),
            "Gunicorn worker. buffered (serving.worker.BufferingWorker): gthread whose event loop "
            "reads each request (headers, and a body up to max_body_bytes) before one of `threads` "
            "threads runs it, so stalled clients hold no thread. sync: one connection per worker "
            "at a time and always 1 thread; a client that stalls mid-request stops the whole "
            "worker until Gunicorn's timeout kills it: only behind a buffering proxy that is the "
            "pod's only way in.",
        ),
    )
    threads: int = field(
        default=0,
        metadata=_meta(
            _non_negative_int,
            "Threads per buffered worker that run requests (one more is kept for probes); sync "
            "workers run exactly 1 (not gthread). 0 = 1. Models "
            "are CPU-bound and hold the GIL outside numpy, so more threads interleave requests "
            "rather than run them: the same throughput, a longer tail. Raise it for models that "
            "wait on I/O.",
        ),
    )
    preload: bool = field(
        default=True,
        metadata=_meta(
            _bool,
            "Under Gunicorn, load and verify the models once in the master and fork the workers "
            "from it: they share the loaded models copy-on-write (less memory per worker) and "
            "start ready. Workers still poll the store and load new versions themselves.",
        ),
    )
    malloc_arenas: int = field(
        default=1,
        metadata=_meta(
            _non_negative_int,
            "glibc malloc arenas per process under Gunicorn (set in the master, inherited by "
            "the workers): 1 keeps a buffered worker's threads from each holding freed memory "
            "in an arena of its own (~40 MB less resident memory per worker after a mixed "
            "load). 0 = the C library's default (up to 8 per core).",
        ),
    )
    read_timeout: float = field(
        default=15.0,
        metadata=_meta(
            _positive_seconds,
            "Seconds a client has to send a whole request (buffered worker; slower → 408 and "
            "closed); also the socket read/write timeout while a thread serves it.",
        ),
    )
    buffer_budget_bytes: int = field(
        default=0,
        metadata=_meta(
            _non_negative_int,
            "Bytes one buffered worker may hold for requests still arriving, across all its "
            "connections (headers and bodies, a Content-Length body counted in full as soon as "
            "it is announced). A request that would pass it is answered 503 with Retry-After "
            "before its body is read; requests over 64 KiB may use only three quarters of it, "
            "so stalled uploads cannot lock out small requests. 0 = an eighth of the "
            "container's memory limit per worker (cgroup), between twice max_body_bytes and "
            "256 MiB; 64 MiB where no limit is set.",
        ),
    )
    graceful_timeout: int = field(
        default=30,
        metadata=_meta(_positive_int, "Seconds a worker may finish in-flight requests on stop."),
    )
    # Admission control and deadlines (serving.admission, serving.deadline).
    max_in_flight: int = field(
        default=0,
        metadata=_meta(
            _non_negative_int,
            "Requests one buffered worker holds at once: running on its `threads` threads plus "
            "waiting for one. One more is answered 503 with Retry-After at once. 0 = twice "
            "`threads`, at least 8. Once the line overflows (demand above capacity, not a "
            "burst) it holds one waiter per thread, the newest (the oldest is refused), until it "
            "has not overflowed for a second, so admitted requests stay near their service "
            "time. Probes "
            "(/healthz, /readyz, /metrics, /v2/health/*) are never counted.",
        ),
    )
    admission_wait: float = field(
        default=1.0,
        metadata=_meta(
            _seconds,
            "Seconds a held request may wait for a free thread before it is answered 503 "
            "without running; 0 = never wait (reject whenever every thread is busy).",
        ),
    )
    request_timeout: float = field(
        default=30.0,
        metadata=_meta(
            _positive_seconds,
            "Deadline of a request in seconds, from when the worker received it; a client's "
            "X-Request-Timeout header may shorten it. Passed before the model runs → 504.",
        ),
    )
    shed_unready_seconds: float = field(
        default=5.0,
        metadata=_meta(
            _seconds,
            "/readyz and /v2/health/ready answer 503 once a worker has refused requests "
            "carrying valid credentials for over a second without a pause (a sustained "
            "overload, not a burst), until this many seconds after the last such refusal; "
            "0 = readiness ignores load. Liveness never does; anonymous clients cannot make "
            "a pod unready.",
        ),
    )
    access_log: bool = field(
        default=True, metadata=_meta(_bool, "Write one access-log line per request to stdout.")
    )
    tls_cert_file: Path | None = field(
        default=None,
        metadata=_meta(_optional_path, "PEM certificate chain; with tls_key_file serves HTTPS."),
    )
    tls_key_file: Path | None = field(
        default=None, metadata=_meta(_optional_path, "PEM private key for tls_cert_file.")
    )
    # Authentication, rate limits and hot reload (serving.auth, serving.reload).
    auth_enabled: bool = field(
        default=True,
        metadata=_meta(_bool, "Require credentials on model endpoints. false logs a warning."),
    )
    api_keys_file: Path | None = field(
        default=None,
        metadata=_meta(_optional_path, "API keys (one per line) accepted as `Bearer <key>`."),
    )
    admin_keys_file: Path | None = field(
        default=None,
        metadata=_meta(_optional_path, "API keys that may also call /admin/reload."),
    )
    users_file: Path | None = field(
        default=None,
        metadata=_meta(
            _optional_path,
            "`name:werkzeug-hash` lines (python -m serving.auth add-user) for POST /auth/token.",
        ),
    )
    token_secret_file: Path | None = field(
        default=None,
        metadata=_meta(_optional_path, "HS256 secret (>= 32 bytes) that signs issued tokens."),
    )
    token_previous_secret_file: Path | None = field(
        default=None,
        metadata=_meta(
            _optional_path, "Previous token secret, accepted for verification only (rotation)."
        ),
    )
    token_ttl_seconds: int = field(
        default=900, metadata=_meta(_positive_int, "Lifetime of issued tokens in seconds.")
    )
    rate_limit_enabled: bool = field(
        default=True, metadata=_meta(_bool, "Rate-limit model and token endpoints per client.")
    )
    rate_limit: str = field(
        default="600/minute",
        metadata=_meta(_rate_limit, "Per-client limit on model endpoints (flask-limiter syntax)."),
    )
    token_rate_limit: str = field(
        default="10/minute", metadata=_meta(_rate_limit, "Per-client limit on POST /auth/token.")
    )
    proxy_hops: int = field(
        default=0,
        metadata=_meta(
            _non_negative_int,
            "Reverse proxies (Ingress) in front that append X-Forwarded-For/-Proto; their headers "
            "identify the client for rate limits. 0 trusts no such header.",
        ),
    )
    rate_limit_storage: str = field(
        default="memory://",
        metadata=_meta(
            _storage_uri,
            "flask-limiter storage URI without a password; memory:// counts per worker. A URI "
            "with a password goes in rate_limit_storage_file.",
        ),
    )
    rate_limit_storage_file: Path | None = field(
        default=None,
        metadata=_meta(
            _optional_path,
            "File holding the shared storage URI (`redis://[:password@]host:port/db`, a mounted "
            "Secret); replaces rate_limit_storage. Redis down → per-worker in-memory limits.",
        ),
    )
    reload_interval: float = field(
        default=30.0,
        metadata=_meta(_seconds, "Seconds between model store polls for new versions; 0 = off."),
    )
    tracing: str = field(
        default="off",
        metadata=_meta(
            _choice(TRACING),
            "Request tracing: off, or otlp (OpenTelemetry spans sent over OTLP/HTTP, configured "
            "by the standard OTEL_* variables; see docs/serving.md#tracing). Needs the "
            "`tracing` extra.",
        ),
    )
    credentials_reload_interval: float = field(
        default=5.0,
        metadata=_meta(
            _seconds,
            "Seconds between checks of the API keys, users and token secret files for changes "
            "(rotation without restarts); 0 = read them only at start.",
        ),
    )

    def __post_init__(self) -> None:
        """Rules between settings, checked however the object was built (env or overrides)."""
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise SettingsError(
                "SERVING_TLS_CERT_FILE and SERVING_TLS_KEY_FILE must be set together"
            )
        if self.token_previous_secret_file is not None and self.token_secret_file is None:
            raise SettingsError(
                "SERVING_TOKEN_PREVIOUS_SECRET_FILE needs SERVING_TOKEN_SECRET_FILE (the "
                "current secret); the previous one only verifies tokens during rotation"
            )
        if self.rate_limit_storage_file is not None and self.rate_limit_storage != "memory://":
            raise SettingsError(
                "set SERVING_RATE_LIMIT_STORAGE or SERVING_RATE_LIMIT_STORAGE_FILE, not both"
            )

    @property
    def worker_threads(self) -> int:
        """threads with 0 resolved: 1 (a CPU-bound model gains nothing from a second)."""
        return self.threads or 1

    @property
    def in_flight_limit(self) -> int:
        """max_in_flight with 0 resolved: twice the threads of a buffered worker, at least 8."""
        return self.in_flight_limit_for(self.worker_threads)

    def in_flight_limit_for(self, threads: int) -> int:
        """max_in_flight for a worker that runs ``threads`` (a --threads flag may override)."""
        return self.max_in_flight or max(MIN_IN_FLIGHT, 2 * threads)

    def buffer_budget_for(self, workers: int, memory_limit: int | None = None) -> int:
        """buffer_budget_bytes with 0 resolved for a pod of ``workers`` workers.

        ``memory_limit`` defaults to the container's (cgroup v2 or v1), None where unlimited.
        """
        if self.buffer_budget_bytes:
            return self.buffer_budget_bytes
        limit = container_memory_limit() if memory_limit is None else memory_limit
        if not limit:
            return DEFAULT_BUFFER_BUDGET
        share = limit // (8 * max(1, workers))
        return max(2 * self.max_body_bytes, min(MAX_BUFFER_BUDGET, share))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read ``SERVING_*`` variables; an unusable value raises SettingsError naming it."""
        environ = os.environ if environ is None else environ
        values = {}
        for item in fields(cls):
            key = ENV_PREFIX + item.name.upper()
            if key in environ:
                values[item.name] = _parse(item, environ[key], key)
        return cls(**values)

    def merged(self, overrides: Mapping[str, Any]) -> Settings:
        """A copy with ``overrides`` (field name → value, parsed like the env) applied."""
        known = {item.name: item for item in fields(self)}
        unknown = sorted(set(overrides) - set(known))
        if unknown:
            raise SettingsError(f"unknown serving settings: {', '.join(unknown)}")
        parsed = {
            name: value if value is None else _parse(known[name], value, name)
            for name, value in overrides.items()
        }
        return dataclasses.replace(self, **parsed)

    @classmethod
    def describe(cls) -> list[tuple[str, str, str]]:
        """(env var, default, description) per setting: the source of docs/configuration.md."""
        return [
            (ENV_PREFIX + item.name.upper(), _default_text(item), item.metadata["doc"])
            for item in fields(cls)
        ]


def _default_text(item: dataclasses.Field) -> str:
    if item.default is dataclasses.MISSING:
        default = item.default_factory()
        return ",".join(f"{k}={v}" for k, v in default.items()) if isinstance(default, dict) else ""
    return str(item.default)


def _parse(item: dataclasses.Field, raw: Any, key: str) -> Any:
    """Parse and validate one value, whether text (env) or already typed (overrides).

    A typed value goes through the same parser as its text form, so an override can never
    bypass a rule the environment is held to (``proxy_hops=-1`` is refused either way).
    """
    parse = item.metadata["parse"]
    if isinstance(raw, bool) and parse is not _bool:
        raise SettingsError(f"{key}: expected {item.type}, got a boolean")
    if not isinstance(raw, (str, Mapping)):
        raw = str(raw)
    try:
        return parse(raw)
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"{key}: {exc}") from None
