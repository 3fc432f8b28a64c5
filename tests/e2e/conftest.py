"""Starting the real ``idverify serve`` process as a user would, on free ports, in a temporary data folder."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc


def written_lines(path: Path) -> list[str]:
    """The complete lines of a file another process is appending to: a line still being written (no newline
    yet) is left for the next read, which once failed a test on a text cut in half."""
    text = path.read_text() if path.exists() else ""
    return text.split("\n")[:-1]


def free_port() -> int:
    """A port free now, drawn below the kernel's ephemeral range (32768 and up on Linux): a port the kernel handed
    out for ``bind(0)`` can be taken again by any outgoing connection (to PostgreSQL, a gRPC channel) before the
    server binds it, which once failed a test with 'Address already in use'."""
    rng = random.SystemRandom()
    for _ in range(200):
        port = rng.randrange(20000, 32000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as s:  # the whole band busy: fall back on the kernel's choice
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    data_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    grpc_port: int = 0
    admin_port: int = 0

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    def start(self, timeout: float = 60.0) -> None:
        self.grpc_port, self.admin_port = free_port(), free_port()
        env = {**os.environ, **self.env, "IDVERIFY_DATA_DIR": str(self.data_dir),
               "IDVERIFY_GRPC_ADDRESS": self.address, "IDVERIFY_ADMIN_ADDRESS": f"127.0.0.1:{self.admin_port}"}
        log = (self.data_dir / "server.log").open("ab")
        self.process = subprocess.Popen([sys.executable, "-m", "idverify", "serve", "--grace", "5"], env=env,
                                        stdout=log, stderr=log, cwd=self.data_dir)
        deadline = time.monotonic() + timeout
        with grpc.insecure_channel(self.address) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"server exited: {(self.data_dir / 'server.log').read_text()[-2000:]}")
                try:
                    if stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status == 1:
                        return
                except grpc.RpcError:
                    pass
                time.sleep(0.2)
        raise RuntimeError("server did not become SERVING")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def terminate(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(30)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "idverify", "client", "--server", self.address, "--data-dir",
                               str(self.data_dir), *args], capture_output=True, text=True, timeout=60,
                              cwd=self.data_dir)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path)
    try:
        yield srv
    finally:
        if srv.process is not None and srv.process.poll() is None:
            srv.process.kill()
            srv.process.wait(10)
