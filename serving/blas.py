"""One BLAS thread per Gunicorn worker, decided before numpy is first imported.

Workers already use every core; BLAS thread pools fighting over them made a 256-row matmul
~50x slower. OpenBLAS (and OpenMP, MKL) read their thread count once, when numpy loads them,
so this must run before any ``import numpy`` in the process that becomes Gunicorn's master:
``model-server`` calls it first thing, and ``gunicorn.conf.py`` for a plain ``gunicorn -c``.
A value already set in the environment wins.
"""

from __future__ import annotations

import os

VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def single_threaded() -> None:
    """Default every BLAS thread-count variable to 1."""
    for variable in VARIABLES:
        os.environ.setdefault(variable, "1")
