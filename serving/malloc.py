"""Bound glibc's malloc arenas in a worker (``SERVING_MALLOC_ARENAS``).

glibc gives each thread that allocates while another holds the main arena an arena of its own,
up to eight per core, and keeps freed memory in each. A buffered worker's request threads
(numpy arrays for a 256-row batch, decoded images) so leave several partly used arenas behind:
tens of MB of resident memory per worker that one arena would reuse. Python allocates with the
GIL held, so the lock contention that per-thread arenas avoid hardly arises here.

Set in the Gunicorn master before any worker or thread exists; forked workers inherit it.
A no-op where the C library has no ``mallopt`` (musl, macOS).
"""

from __future__ import annotations

import ctypes

_M_ARENA_MAX = -8  # <malloc.h>


def limit_arenas(count: int) -> bool:
    """Cap malloc arenas at ``count`` (0: leave the C library's default); True when applied."""
    if count <= 0:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return mallopt(_M_ARENA_MAX, count) == 1
