"""A bounded pool for CPU-heavy inference (face models, PAD, OCR), separate from the RPC threads.

RPC threads hand work to the pool and wait, so the server keeps accepting and answering light RPCs while models
run; when more than ``max_pending`` calls are queued the pool refuses at once with ``server_busy`` instead of
letting latency grow without bound.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from typing import TypeVar

from prometheus_client import Counter, Histogram

from idverify.domain.errors import ResourceExhausted
from idverify.domain.face import Embedding
from idverify.factors.liveness import FrameObservation, FrameObserver, SubmittedFrame

T = TypeVar("T")


#: Model time per operation (detection + embedding of a match, a liveness challenge's frames, OCR of a document),
#: measured on the pool thread, apart from the time spent waiting for it.
INFERENCE_SECONDS = Histogram(
    "idverify_inference_seconds", "Model work per call on the inference pool", ["operation"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
INFERENCE_WAIT_SECONDS = Histogram(
    "idverify_inference_wait_seconds", "Time a call waited for an inference thread",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
INFERENCE_REJECTED = Counter("idverify_inference_rejected_total", "Inference calls refused with server_busy")


def _operation(fn: Callable[..., object]) -> str:
    """A stable label from the adapter method (``FaceMatcher.compare``), never from arguments."""
    return getattr(fn, "__qualname__", type(fn).__name__)


class InferencePool:
    def __init__(self, workers: int, max_pending: int,
                 waiting: Callable[[], AbstractContextManager[object]] = nullcontext) -> None:
        """``waiting``: entered while a caller waits for its result (the RPC executor's mark, so another RPC may
        run on the caller's turn meanwhile)."""
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="inference")
        self._slots = threading.BoundedSemaphore(max_pending)
        self._waiting = waiting

    def run(self, fn: Callable[..., T], *args: object) -> T:
        """Run ``fn(*args)`` on the pool and return its result (or raise its exception)."""
        if not self._slots.acquire(blocking=False):
            INFERENCE_REJECTED.inc()
            raise ResourceExhausted("server_busy", "the service is busy; retry shortly", retry_after_s=1)
        submitted = time.perf_counter()

        def timed() -> T:
            started = time.perf_counter()
            INFERENCE_WAIT_SECONDS.observe(started - submitted)
            try:
                return fn(*args)
            finally:
                INFERENCE_SECONDS.labels(_operation(fn)).observe(time.perf_counter() - started)

        try:
            # The caller's context goes with the work, so log lines from model code carry the request id.
            future = self._executor.submit(contextvars.copy_context().run, timed)
            with self._waiting():
                return future.result()
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
