"""glibc malloc settings for a process that runs native inference on several threads.

glibc gives each thread that allocates concurrently an arena of its own (up to 8 per core) and keeps freed memory
in each one; and after a large block is freed it raises its mmap threshold (up to 32 MB), so later large blocks
(decoded frames and pages, OpenCV and numpy temporaries) come from those arenas and stay in the process after
they are freed. onnxruntime, OpenCV and libjpeg allocate from whatever thread runs the request. Measured on the
real server (docs/reports/single-node-perf.md, `bench/bench_serve.py`): peak RSS through OTP, documents and
liveness captures 639 MB with glibc's defaults, 584-604 MB with two arenas, 563 MB with two arenas and blocks of
1 MiB and more always mapped (and so returned when freed), SubmitDocument p50 within the run-to-run spread.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Mapping
from typing import Any

#: ``M_ARENA_MAX`` and ``M_MMAP_THRESHOLD`` from glibc's malloc.h.
_M_ARENA_MAX = -8
_M_MMAP_THRESHOLD = -3
ARENAS = 2
MMAP_THRESHOLD = 1 << 20


def _mallopt() -> Any | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library already loaded into this process
    except (OSError, AttributeError):
        return None
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return mallopt


def limit_malloc_arenas(arenas: int) -> bool:
    """Cap glibc's malloc arenas at ``arenas`` for the rest of the process (as ``MALLOC_ARENA_MAX`` would).

    Returns False, changing nothing, where the C library has no ``mallopt`` (not Linux, or not glibc).
    """
    if arenas < 1:
        raise ValueError("arenas must be >= 1")
    mallopt = _mallopt()
    return mallopt is not None and bool(mallopt(_M_ARENA_MAX, arenas))


def set_mmap_threshold(size: int) -> bool:
    """Map every block of ``size`` bytes or more on its own, and stop glibc raising that threshold (as
    ``MALLOC_MMAP_THRESHOLD_`` would). Returns False, changing nothing, without glibc's ``mallopt``."""
    if not 4096 <= size <= 32 << 20:
        raise ValueError("the mmap threshold must be between 4 KiB and 32 MiB")
    mallopt = _mallopt()
    return mallopt is not None and bool(mallopt(_M_MMAP_THRESHOLD, size))


def tune_malloc(env: Mapping[str, str]) -> None:
    """Both settings above with this module's values, except where the operator set the glibc variable."""
    if "MALLOC_ARENA_MAX" not in env:
        limit_malloc_arenas(ARENAS)
    if "MALLOC_MMAP_THRESHOLD_" not in env:
        set_mmap_threshold(MMAP_THRESHOLD)
