"""Run one callable from many threads at once and collect what each returned or raised."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor


def hammer(fn: Callable[[int], object], threads: int = 16) -> list[object]:
    """Call ``fn(i)`` for i in range(threads), all released together; each result is a value or the exception."""
    barrier = threading.Barrier(threads)

    def run(i: int) -> object:
        barrier.wait()
        try:
            return fn(i)
        except Exception as exc:  # collected, then asserted on by the test
            return exc

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(run, range(threads)))


def codes(results: list[object]) -> list[str]:
    """Reason codes of the failures (``ok`` for successes), sorted."""
    return sorted(getattr(r, "code", type(r).__name__) if isinstance(r, Exception) else "ok" for r in results)
