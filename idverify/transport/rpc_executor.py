"""The RPC threads: many threads, few of them running at once.

gRPC Python's sync server hands every RPC to an executor. With a plain ``ThreadPoolExecutor`` each RPC wakes an
idle thread, which then usually sleeps again until the request's bytes arrive, and every thread that holds work
competes for the one interpreter lock. Measured on 2 cores (bench/bench_rpc_threads.py, two runs), a trivial
authenticated RPC cost 15-30% more server CPU on a plain pool of 16 threads than on this executor. Fewer threads
alone would not do: an RPC that waits for the inference pool, or for the next message of a client stream, would hold a
thread for its whole duration and starve the light RPCs behind it.

:class:`RpcExecutor` keeps ``max_workers`` threads but runs at most ``concurrency`` RPCs at once; the others wait
in its queue, and a thread that finishes an RPC takes the next one without sleeping. A thread that enters
:func:`waiting` (a wait for the inference pool, for a client's next message) stops counting, so another RPC may
start. Waits nobody marks (a database lock, a slow query) are covered by a stall rule: when RPCs are queued and
none has finished for ``stall_s``, one more thread starts the next RPC.

Written here because neither the standard library nor gRPC offers an executor that bounds running work apart
from the thread count.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from typing import Any, TypeVar

from prometheus_client import Counter

T = TypeVar("T")

_local = threading.local()

#: RPCs started beyond the concurrency because the running ones made no progress: many of them say RPCs wait in
#: ways the service does not mark (a distant or locked database), and that a higher concurrency may serve better.
STALL_STARTS = Counter("idverify_rpc_stall_starts_total",
                       "RPCs started beyond IDVERIFY_GRPC_CONCURRENCY because none finished for the stall time")


@contextmanager
def waiting() -> Iterator[None]:
    """Mark the calling thread, for the duration of the block, as waiting for something slow that is not its own
    work. On an RPC thread of an :class:`RpcExecutor` another queued RPC may start meanwhile; anywhere else (and
    nested inside another ``waiting``) it does nothing."""
    executor: RpcExecutor | None = getattr(_local, "executor", None)
    if executor is None or getattr(_local, "waiting", False):
        yield
        return
    _local.waiting = True
    executor._wait_begins()
    try:
        yield
    finally:
        executor._wait_ends()
        _local.waiting = False


class RpcExecutor(Executor):
    """An executor of at most ``max_workers`` threads that runs at most ``concurrency`` submitted calls at once,
    not counting calls inside :func:`waiting`, unless none has finished for ``stall_s`` while calls wait."""

    def __init__(self, max_workers: int, concurrency: int, *, stall_s: float = 0.005,
                 thread_name_prefix: str = "rpc", clock: Callable[[], float] = time.monotonic) -> None:
        if max_workers < 1 or concurrency < 1 or stall_s <= 0:
            raise ValueError("max_workers and concurrency must be at least 1, stall_s above 0")
        self._max_workers = max_workers
        self._concurrency = min(concurrency, max_workers)
        self._stall_s = stall_s
        self._prefix = thread_name_prefix
        self._clock = clock
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._queue: deque[tuple[Future[Any], Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = deque()
        self._threads: list[threading.Thread] = []
        self._idle = 0  # threads waiting for a call
        self._running = 0  # threads inside a call and not inside ``waiting``
        self._watching = False  # an idle thread watches the queue for a stall
        self._progress = clock()  # when a call last finished (or the queue last became non-empty)
        self._shutdown = False

    @property
    def running(self) -> int:
        """Calls running now, not counting those inside ``waiting``."""
        return self._running

    @property
    def threads(self) -> int:
        return len(self._threads)

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot schedule new calls after shutdown")
            if not self._queue:
                self._progress = self._clock()  # a stall is measured from when calls began to wait
            self._queue.append((future, fn, args, kwargs))
            self._start_one()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Refuse new calls; the queued ones still run unless ``cancel_futures``."""
        with self._lock:
            self._shutdown = True
            if cancel_futures:
                while self._queue:
                    self._queue.popleft()[0].cancel()
            self._changed.notify_all()
            threads = list(self._threads)
        if wait:
            for thread in threads:
                if thread is not threading.current_thread():
                    thread.join()

    # --- with the lock held ---

    def _start_one(self) -> None:
        """Let one more call start if one waits and the limit allows it; else make sure someone watches."""
        if not self._queue:
            return
        if self._running < self._concurrency:
            if self._idle:
                self._changed.notify()
            elif len(self._threads) < self._max_workers:
                self._spawn()
        elif not self._watching and self._idle:
            self._changed.notify()  # an idle thread becomes the watcher
        elif not self._watching and len(self._threads) < self._max_workers:
            self._spawn()

    def _spawn(self) -> None:
        thread = threading.Thread(target=self._work, name=f"{self._prefix}_{len(self._threads)}", daemon=True)
        self._threads.append(thread)
        thread.start()

    def _stalled(self) -> bool:
        return self._clock() - self._progress >= self._stall_s

    def _next(self) -> tuple[Future[Any], Callable[..., Any], tuple[Any, ...], dict[str, Any]] | None:
        """The next call for this thread, waiting as long as needed; None once shut down with nothing queued."""
        while True:
            if self._queue and (self._running < self._concurrency or self._stalled()):
                if self._running >= self._concurrency:
                    self._progress = self._clock()  # a rescue: the next one only after another stall
                    STALL_STARTS.inc()
                self._running += 1
                item = self._queue.popleft()
                self._start_one()  # a notified thread may have been taken by another: chain the wake-ups
                return item
            if self._shutdown and not self._queue:
                return None
            watch = bool(self._queue) and not self._watching
            if watch:
                self._watching = True
            self._idle += 1
            try:
                self._changed.wait(self._stall_s if watch else None)
            finally:
                self._idle -= 1
                if watch:
                    self._watching = False

    def _work(self) -> None:
        _local.executor = self
        with self._lock:
            while True:
                item = self._next()
                if item is None:
                    self._changed.notify_all()
                    return
                self._lock.release()
                try:
                    future, fn, args, kwargs = item
                    if future.set_running_or_notify_cancel():
                        try:
                            result = fn(*args, **kwargs)
                        except BaseException as exc:  # noqa: BLE001 - the caller's future carries it
                            future.set_exception(exc)
                        else:
                            future.set_result(result)
                    del item, future, fn, args, kwargs
                finally:
                    self._lock.acquire()
                self._running -= 1
                self._progress = self._clock()

    def _wait_begins(self) -> None:
        with self._lock:
            self._running -= 1
            self._start_one()

    def _wait_ends(self) -> None:
        with self._lock:
            self._running += 1


def awaited(messages: Iterator[T]) -> Iterator[T]:
    """A client stream whose every wait for the next message is marked :func:`waiting` (a liveness challenge's
    frames arrive over seconds: the thread reading them must not keep other RPCs waiting)."""
    end = object()
    while True:
        with waiting():
            message = next(messages, end)
        if message is end:
            return
        yield message  # type: ignore[misc]  # not the sentinel
