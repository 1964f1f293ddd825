"""Stage-level progress lines a person can follow in a driver log.

Each stage logs when it starts and when it ends, with its wall time and, where the stage
produced a DataFrame, its row count, e.g. ``stage=split done in 1.8s rows=5000``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger("spark_jobs")


class Stage:
    """What a running stage reports back: row count and extra key=value facts."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.rows: int | None = None
        self.facts: dict[str, object] = {}
        self.seconds = 0.0


@contextmanager
def stage(name: str, timings: dict[str, float] | None = None) -> Iterator[Stage]:
    """Time a block and log it; ``timings`` collects seconds per stage for the lineage."""
    current = Stage(name)
    log.info("stage=%s started", name)
    start = time.perf_counter()
    yield current
    current.seconds = round(time.perf_counter() - start, 3)
    if timings is not None:
        timings[name] = current.seconds
    extra = "" if current.rows is None else f" rows={current.rows}"
    extra += "".join(f" {k}={v}" for k, v in current.facts.items())
    log.info("stage=%s done in %.1fs%s", name, current.seconds, extra)


def configure_logging(level: int = logging.INFO) -> None:
    """One line per record on stderr, timestamped; py4j's chatter stays at WARNING."""
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    logging.getLogger("py4j").setLevel(logging.WARNING)
