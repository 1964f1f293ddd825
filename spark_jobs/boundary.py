"""The process boundary every job shares: run it, map failures to exit codes and one line.

An anticipated failure is a :class:`~spark_jobs.errors.SparkJobError` and exits with its own
code (2 usage, 3 data, 4 export, 5 write, 6 model refused); anything else is a bug or an
environment failure, reported as one line with the trace at debug level, exit 1. Either way
the log ends with ``<job> failed: <reason>`` and never with a traceback.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable

from spark_jobs.errors import SparkJobError
from spark_jobs.progress import configure_logging

log = logging.getLogger("spark_jobs")


def run_job(job: str, body: Callable[[], object]) -> int:
    """Run ``body`` (parse arguments, run the job) and return the process exit code."""
    configure_logging()
    # pyspark warns about pandas 3 on every pandas UDF; our UDFs only use core pandas
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
    try:
        body()
    except SparkJobError as exc:
        log.error("%s failed: %s", job, exc)
        return exc.exit_code
    except Exception as exc:  # process boundary: one line, trace at debug level
        log.debug("unexpected failure", exc_info=True)
        first = str(exc).splitlines()[0] if str(exc) else ""
        log.error("%s failed unexpectedly: %s: %s", job, type(exc).__name__, first)
        return 1
    return 0
