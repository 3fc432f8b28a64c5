"""The RPC executor: at most ``concurrency`` calls run at once, a marked wait makes room, a stall lets one more
start, and a client stream that waits for its next message does not hold the server's turn."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent import futures
from typing import Any, cast

import grpc
import pytest
from prometheus_client import REGISTRY

from idverify.transport.rpc_executor import RpcExecutor, awaited, waiting

NEVER_STALLS = 3600.0  # a stall threshold no test reaches


class Gate:
    """Calls that record how many run at once and block until opened."""

    def __init__(self) -> None:
        self.opened = threading.Event()
        self._lock = threading.Lock()
        self.now = 0
        self.most = 0
        self.started = 0

    def call(self, value: Any = None, *, marked: bool = False) -> Any:
        with self._lock:
            self.now += 1
            self.started += 1
            self.most = max(self.most, self.now)
        try:
            if marked:
                with waiting():
                    self.opened.wait(10)
            else:
                self.opened.wait(10)
        finally:
            with self._lock:
                self.now -= 1
        return value


def eventually(check: Any, timeout_s: float = 5.0) -> bool:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.005)
    return bool(check())


def test_results_and_exceptions_reach_the_futures() -> None:
    executor = RpcExecutor(4, 2)
    try:
        assert executor.submit(lambda a, b=0: a + b, 2, b=3).result(5) == 5
        failed = executor.submit(lambda: 1 / 0)
        with pytest.raises(ZeroDivisionError):
            failed.result(5)
    finally:
        executor.shutdown()


def test_at_most_concurrency_calls_run_at_once_and_the_rest_follow() -> None:
    gate = Gate()
    executor = RpcExecutor(8, 2, stall_s=NEVER_STALLS)
    try:
        results = [executor.submit(gate.call, n) for n in range(6)]
        assert eventually(lambda: gate.started == 2)
        time.sleep(0.1)
        assert gate.started == 2 and executor.running == 2  # the other four wait in the queue
        gate.opened.set()
        assert [f.result(5) for f in results] == list(range(6))
        assert gate.most == 2
        assert executor.threads <= 8
    finally:
        gate.opened.set()
        executor.shutdown()


def test_a_marked_wait_lets_a_queued_call_run() -> None:
    gate = Gate()
    executor = RpcExecutor(4, 1, stall_s=NEVER_STALLS)
    try:
        waiter = executor.submit(gate.call, "waited", marked=True)
        assert eventually(lambda: gate.started == 1)
        quick = executor.submit(lambda: "quick")
        assert quick.result(5) == "quick"  # ran while the first waited
        assert not waiter.done()
        gate.opened.set()
        assert waiter.result(5) == "waited"
    finally:
        gate.opened.set()
        executor.shutdown()


def test_an_unmarked_wait_holds_the_turn_until_a_stall() -> None:
    held = Gate()
    patient = RpcExecutor(4, 1, stall_s=NEVER_STALLS)
    rescuing = RpcExecutor(4, 1, stall_s=0.02)
    try:
        patient.submit(held.call)
        rescuing.submit(held.call)
        assert eventually(lambda: held.started == 2)
        rescues = REGISTRY.get_sample_value("idverify_rpc_stall_starts_total") or 0.0
        behind_patient = patient.submit(lambda: "late")
        behind_rescuing = rescuing.submit(lambda: "rescued")
        assert behind_rescuing.result(5) == "rescued"  # nothing finished for 20 ms: one more thread took it
        assert REGISTRY.get_sample_value("idverify_rpc_stall_starts_total") == rescues + 1
        time.sleep(0.1)
        assert not behind_patient.done()  # no stall rule reached: it waits for the turn
        held.opened.set()
        assert behind_patient.result(5) == "late"
    finally:
        held.opened.set()
        patient.shutdown()
        rescuing.shutdown()


def test_waiting_outside_the_executor_and_nested_changes_nothing() -> None:
    with waiting():  # not an RPC thread: nothing to do
        pass
    executor = RpcExecutor(2, 1, stall_s=NEVER_STALLS)
    try:
        def nested() -> int:
            with waiting():
                with waiting():
                    inner = executor.running
                after_inner = executor.running
            return inner * 10 + after_inner

        assert executor.submit(nested).result(5) == 0  # one mark, released once, at the outer block's end
        assert executor.submit(lambda: executor.running).result(5) == 1
    finally:
        executor.shutdown()


def test_shutdown_runs_what_is_queued_and_refuses_more() -> None:
    gate = Gate()
    executor = RpcExecutor(4, 1, stall_s=NEVER_STALLS)
    calls = [executor.submit(gate.call, n) for n in range(3)]
    assert eventually(lambda: gate.started == 1)
    gate.opened.set()
    executor.shutdown(wait=True)
    assert [f.result(0) for f in calls] == [0, 1, 2]
    with pytest.raises(RuntimeError):
        executor.submit(lambda: None)


def test_shutdown_may_cancel_what_is_queued() -> None:
    gate = Gate()
    executor = RpcExecutor(4, 1, stall_s=NEVER_STALLS)
    first = executor.submit(gate.call, "first")
    assert eventually(lambda: gate.started == 1)
    queued = executor.submit(gate.call, "queued")
    threading.Timer(0.1, gate.opened.set).start()
    executor.shutdown(wait=True, cancel_futures=True)
    assert first.result(0) == "first"
    assert queued.cancelled()


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError):
        RpcExecutor(0, 1)
    with pytest.raises(ValueError):
        RpcExecutor(4, 0)


def _stream_server(concurrency: int, mark: bool, started: threading.Event
                   ) -> tuple[grpc.Server, int, RpcExecutor]:
    executor = RpcExecutor(8, concurrency, stall_s=NEVER_STALLS)

    def count(requests: Iterator[bytes], context: grpc.ServicerContext) -> bytes:
        started.set()  # the stream holds its turn from here
        return str(sum(1 for _ in (awaited(requests) if mark else requests))).encode()

    handlers = grpc.method_handlers_generic_handler("test.Executor", {
        "Count": grpc.stream_unary_rpc_method_handler(count),
        "Ping": grpc.unary_unary_rpc_method_handler(lambda request, context: b"pong"),
    })
    server = grpc.server(cast(futures.ThreadPoolExecutor, executor), handlers=(handlers,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, port, executor


@pytest.mark.parametrize("mark", [True, False])
def test_a_client_stream_waiting_for_its_next_message_leaves_the_turn_only_when_marked(mark: bool) -> None:
    started, more = threading.Event(), threading.Event()
    server, port, executor = _stream_server(concurrency=1, mark=mark, started=started)

    def frames() -> Iterator[bytes]:
        yield b"first"
        more.wait(10)  # the client thinks: the server waits for the next frame meanwhile
        yield b"second"

    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stream = channel.stream_unary("/test.Executor/Count").future(frames())
            ping = channel.unary_unary("/test.Executor/Ping")
            assert started.wait(5)  # the stream runs before the unary call is sent
            if mark:
                assert ping(b"", timeout=5) == b"pong"  # answered while the stream waits
            else:
                with pytest.raises(grpc.RpcError) as late:
                    ping(b"", timeout=0.5)  # the unmarked stream holds the only turn (and no stall rule here)
                assert late.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
            more.set()
            assert stream.result(5) == b"2"
    finally:
        more.set()
        server.stop(1).wait()
        executor.shutdown()
