"""glibc malloc settings for a process that runs native inference on several threads.

glibc gives each thread that allocates concurrently an arena of its own (up to 8 per core) and keeps freed memory
in each one. onnxruntime, OpenCV and libjpeg allocate their large buffers from whatever thread runs the request,
so the server's inference and RPC threads each end up holding their own freed megabytes. Measured on the real
server (docs/reports/single-node-perf.md): peak RSS through OTP, 8 documents and 3 liveness captures 639 MB with
glibc's default, 584 MB with two arenas, at the same SubmitDocument latency.
"""

from __future__ import annotations

import ctypes
import sys

#: ``M_ARENA_MAX`` from glibc's malloc.h.
_M_ARENA_MAX = -8


def limit_malloc_arenas(arenas: int) -> bool:
    """Cap glibc's malloc arenas at ``arenas`` for the rest of the process (as ``MALLOC_ARENA_MAX`` would).

    Returns False, changing nothing, where the C library has no ``mallopt`` (not Linux, or not glibc).
    """
    if arenas < 1:
        raise ValueError("arenas must be >= 1")
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library already loaded into this process
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_ARENA_MAX, arenas))
