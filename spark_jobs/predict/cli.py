"""Command-line boundary of ``./spark-submit.sh predict``: parse, run, map failures to exit codes.

Exit codes (as the train job's, plus 6): 0 success, 1 unexpected failure, 2 usage (bad option,
key, model reference, existing output), 3 bad data (unknown/missing columns, the first bad
record with ``--on-error fail``), 5 output write failure, 6 model refused (signature, digests,
identity, version skew).
"""

from __future__ import annotations

import json
import logging
import sys
import warnings
from collections.abc import Sequence

from spark_jobs.errors import SparkJobError
from spark_jobs.progress import configure_logging

log = logging.getLogger("spark_jobs")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one scoring job; returns the process exit code."""
    configure_logging()
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
    from spark_jobs.predict.job import run
    from spark_jobs.predict.settings import from_args

    try:
        settings = from_args(argv)
        summary = run(settings)
    except SparkJobError as exc:
        log.error("predict failed: %s", exc)
        return exc.exit_code
    except Exception as exc:  # process boundary: one line, trace at debug level
        log.debug("unexpected failure", exc_info=True)
        log.error(
            "predict failed unexpectedly: %s: %s",
            type(exc).__name__,
            str(exc).splitlines()[0] if str(exc) else "",
        )
        return 1
    log.info("predict done: %s", json.dumps({k: summary[k] for k in _SHOWN}))
    return 0


_SHOWN = ("output", "rows_read", "rows_written", "bad_rows", "seconds", "rows_per_second")

if __name__ == "__main__":
    sys.exit(main())
