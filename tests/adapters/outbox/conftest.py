"""An outbox on the real databases (SQLite file and PostgreSQL schema), with the real field cipher and a fixed clock."""

from __future__ import annotations

import base64
import http.server
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from sqlalchemy import Engine

from idverify.outbox import OutboxDispatcher, RetryPolicy, SqlOutboxQueue
from idverify.outbox.deliveries import Delivery
from idverify.privacy.cipher import FieldCipher
from idverify.privacy.keys import ConfigKeyProvider
from idverify.privacy.sealing import SealedFields
from idverify.storage.sql_outbox import SqlOutbox
from idverify.storage.unit_of_work import SqlUnitOfWork
from tests.fakes import FixedClock, SeededRandom

SECRET_KEY = b"\x42" * 32
WHSEC = "whsec_" + base64.b64encode(SECRET_KEY).decode()


@dataclass
class World:
    engine: Engine
    clock: FixedClock
    protector: SealedFields
    queue: SqlOutboxQueue
    random: SeededRandom = field(default_factory=lambda: SeededRandom(11))
    wakeups: list[int] = field(default_factory=list)
    wake: Callable[[], None] | None = None  # a dispatcher's wake-up, as the app wires it

    def committed(self) -> None:
        self.wakeups.append(1)
        if self.wake is not None:
            self.wake()

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, self.protector, outbox=lambda conn: SqlOutbox(
            conn, self.protector, clock=self.clock, random=self.random, on_commit=self.committed))

    def dispatcher(self, deliveries: dict[str, Delivery], **kwargs: object) -> OutboxDispatcher:
        retry = kwargs.pop("retry", RetryPolicy(max_attempts=3, base_s=5.0, max_s=60.0))
        return OutboxDispatcher(self.queue, deliveries, clock=self.clock, random=SeededRandom(3),
                                retry=retry, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def world(engine: Engine) -> World:
    keys = ConfigKeyProvider(data_keys={"k1": b"\x01" * 32}, active_kid="k1", index_key=b"\x02" * 32)
    return World(engine=engine, clock=FixedClock(), protector=SealedFields(FieldCipher(keys)),
                 queue=SqlOutboxQueue(engine))


@dataclass
class Receiver:
    """A local webhook receiver on an ephemeral port: answers ``statuses`` in turn (then the last one)."""

    url: str = ""
    statuses: list[int] = field(default_factory=lambda: [204])
    hang_s: float = 0.0
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if state.hang_s:
                time.sleep(state.hang_s)
            state.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
            status = state.statuses[min(len(state.requests), len(state.statuses)) - 1]
            try:
                self.send_response(status)
                self.end_headers()
            except OSError:  # the sender timed out and went away
                pass

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's signature
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
