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
from collections.abc import Sequence

from spark_jobs.boundary import run_job

log = logging.getLogger("spark_jobs")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one scoring job; returns the process exit code."""

    def predict() -> None:
        from spark_jobs.predict.job import run
        from spark_jobs.predict.settings import from_args

        summary = run(from_args(argv))
        log.info("predict done: %s", json.dumps({k: summary[k] for k in _SHOWN}))

    return run_job("predict", predict)


_SHOWN = ("output", "rows_read", "rows_written", "bad_rows", "seconds", "rows_per_second")

if __name__ == "__main__":
    sys.exit(main())
