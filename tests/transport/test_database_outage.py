"""A database that goes away gives UNAVAILABLE and health NOT_SERVING, not a crash; when it returns the service
recovers without a restart. Runs against the real PostgreSQL through a TCP proxy the test can cut."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy.engine import make_url

from idverify.api.v1 import verification_pb2_grpc
from tests.conftest import postgres_schema
from tests.transport.conftest import running_app
from tests.transport.test_server import reason_of, start_request


class Proxy:
    """Forwards 127.0.0.1:<port> to the PostgreSQL server; ``down()`` drops every connection and stops listening."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self._conns: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self._lock = threading.Lock()

    def up(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        with self._lock:
            if self._listener is not None:
                try:  # shutdown wakes the thread blocked in accept(); close alone would not
                    self._listener.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                self._listener.close()
                self._listener = None
            for conn in self._conns:
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                conn.close()
            self._conns.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            with self._lock:
                self._conns += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.close()
                except OSError:
                    pass


def wait_health(channel: grpc.Channel, wanted: int, timeout: float = 15.0) -> None:
    stub = health_pb2_grpc.HealthStub(channel)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if stub.Check(health_pb2.HealthCheckRequest(), timeout=2).status == wanted:
            return
        time.sleep(0.2)
    raise AssertionError(f"health never became {wanted}")


@pytest.fixture
def proxied_postgres() -> Iterator[tuple[Proxy, str]]:
    """The real PostgreSQL behind a proxy (a TCP connection to cut; SQLite has none)."""
    base = os.environ.get("IDVERIFY_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("IDVERIFY_TEST_POSTGRES_URL is not set (CI sets it); the outage test needs PostgreSQL")
    with postgres_schema(base) as schema_url:
        url = make_url(schema_url)
        proxy = Proxy((url.host or "127.0.0.1", url.port or 5432))
        proxy.up()
        try:
            yield proxy, url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        finally:
            proxy.down()


@pytest.mark.slow
def test_database_outage_is_unavailable_then_recovers_without_restart(proxied_postgres, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    proxy, url = proxied_postgres
    with running_app(tmp_path, IDVERIFY_DATABASE_URL=url) as running:
        md, channel = running.md(), running.channel
        stub = verification_pb2_grpc.VerificationServiceStub(channel)
        wait_health(channel, health_pb2.HealthCheckResponse.SERVING)
        stub.StartVerification(start_request(loan="L-before"), metadata=md)

        proxy.down()
        with pytest.raises(grpc.RpcError) as err:
            stub.StartVerification(start_request(loan="L-during"), metadata=md, timeout=20)
        assert err.value.code() is grpc.StatusCode.UNAVAILABLE
        assert reason_of(err.value) == "storage_unavailable"
        wait_health(channel, health_pb2.HealthCheckResponse.NOT_SERVING)

        proxy.up()
        wait_health(channel, health_pb2.HealthCheckResponse.SERVING)
        after = stub.StartVerification(start_request(loan="L-after"), metadata=md, timeout=20).verification
        assert after.session_id.startswith("vs_")


@pytest.mark.slow
def test_send_otp_during_an_outage_is_unavailable_too(proxied_postgres, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """SendOtp touches the session (unit of work) and the OTP counters (their own transactions); whichever meets
    the outage first, the caller gets UNAVAILABLE with a reason, not INTERNAL."""
    from idverify.api.v1 import verification_pb2
    from tests.transport.test_server import context

    proxy, url = proxied_postgres
    with running_app(tmp_path, IDVERIFY_DATABASE_URL=url) as running:
        stub = verification_pb2_grpc.VerificationServiceStub(running.channel)
        sid = stub.StartVerification(start_request(), metadata=running.md()).verification.session_id
        proxy.down()
        with pytest.raises(grpc.RpcError) as err:
            stub.SendOtp(verification_pb2.SendOtpRequest(context=context(), session_id=sid), metadata=running.md(),
                         timeout=20)
        assert err.value.code() is grpc.StatusCode.UNAVAILABLE
        assert reason_of(err.value) == "storage_unavailable"
        proxy.up()
