"""``./spark-submit.sh train``: parse, run, and map failures to exit codes and one-line messages.

Exit codes: 0 success, 1 unexpected failure, 2 usage (bad option, signing key, existing
version), 3 bad data, 4 export or parity failure, 5 artifact write failure.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from spark_jobs.boundary import run_job


def main(argv: Sequence[str] | None = None) -> int:
    """Run one training job; returns the process exit code."""

    def train() -> None:
        from spark_jobs.settings import from_args
        from spark_jobs.train.job import run

        run(from_args(argv))

    return run_job("train", train)


if __name__ == "__main__":
    sys.exit(main())
