"""A bounded pool for CPU-heavy inference (face models, PAD, OCR), separate from the RPC threads.

RPC threads hand work to the pool and wait, so the server keeps accepting and answering light RPCs while models
run; when more than ``max_pending`` calls are queued the pool refuses at once with ``server_busy`` instead of
letting latency grow without bound.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from idverify.domain.errors import ResourceExhausted
from idverify.domain.face import Embedding
from idverify.factors.liveness import FrameObservation, FrameObserver, SubmittedFrame

T = TypeVar("T")


class InferencePool:
    def __init__(self, workers: int, max_pending: int) -> None:
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="inference")
        self._slots = threading.BoundedSemaphore(max_pending)

    def run(self, fn: Callable[..., T], *args: object) -> T:
        """Run ``fn(*args)`` on the pool and return its result (or raise its exception)."""
        if not self._slots.acquire(blocking=False):
            raise ResourceExhausted("server_busy", "the service is busy; retry shortly", retry_after_s=1)
        try:
            return self._executor.submit(fn, *args).result()
        finally:
            self._slots.release()

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True)


class PooledFrameObserver:
    """``FrameObserver`` that runs another observer on the inference pool."""

    def __init__(self, pool: InferencePool, inner: FrameObserver) -> None:
        self._pool = pool
        self._inner = inner

    def observe(self, frames: Sequence[SubmittedFrame]) -> list[FrameObservation]:
        return self._pool.run(self._inner.observe, frames)


class PooledPortraitReader:
    """Document-portrait templates computed on the inference pool."""

    def __init__(self, pool: InferencePool, inner: Callable[[bytes], Embedding]) -> None:
        self._pool = pool
        self._inner = inner

    def document_embedding(self, image: bytes) -> Embedding:
        return self._pool.run(self._inner, image)
