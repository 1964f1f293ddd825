"""Command-line boundary: parse, run, and map failures to exit codes and one-line messages.

Exit codes: 0 success, 1 unexpected failure, 2 usage (bad option, signing key, existing
version), 3 bad data, 4 export or parity failure, 5 artifact write failure.
"""

from __future__ import annotations

import logging
import sys
import warnings
from collections.abc import Sequence

from spark_jobs.errors import SparkJobError
from spark_jobs.progress import configure_logging

log = logging.getLogger("spark_jobs")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one training job; returns the process exit code."""
    configure_logging()
    # pyspark warns about pandas 3 on every pandas UDF; our UDFs only use core pandas
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
    from spark_jobs.job import run
    from spark_jobs.settings import from_args

    try:
        settings = from_args(argv)
        run(settings)
    except SparkJobError as exc:
        log.error("train failed: %s", exc)
        return exc.exit_code
    except Exception as exc:  # process boundary: one line, trace at debug level
        log.debug("unexpected failure", exc_info=True)
        log.error(
            "train failed unexpectedly: %s: %s",
            type(exc).__name__,
            str(exc).splitlines()[0] if str(exc) else "",
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
