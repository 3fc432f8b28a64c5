"""The inference pool refuses at once when too much work is queued, instead of letting latency grow."""

from __future__ import annotations

import threading

import pytest

from idverify.domain.errors import ResourceExhausted
from idverify.ml.pool import InferencePool


def test_a_full_queue_answers_server_busy_and_frees_up_afterwards() -> None:
    pool = InferencePool(workers=1, max_pending=2)
    release = threading.Event()
    started = threading.Barrier(3)
    results: list[str] = []

    def slow() -> str:
        release.wait(10)
        return "done"

    def caller() -> None:
        started.wait()
        results.append(pool.run(slow))

    threads = [threading.Thread(target=caller) for _ in range(2)]
    for t in threads:
        t.start()
    started.wait()
    import time

    time.sleep(0.2)
    with pytest.raises(ResourceExhausted) as err:
        pool.run(lambda: "third")
    assert err.value.code == "server_busy" and err.value.retry_after_s == 1
    release.set()
    for t in threads:
        t.join()
    assert results == ["done", "done"]
    assert pool.run(lambda: "again") == "again"
    pool.shutdown()
