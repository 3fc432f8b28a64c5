"""Start a real MLServer (the V2 protocol model server) on loopback for the KServe adapter tests."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
import pytest

from idverify.kserve.v2 import grpc_predict_v2_pb2 as pb
from idverify.kserve.v2.grpc_predict_v2_pb2_grpc import GRPCInferenceServiceStub
from tests.e2e.conftest import free_port

ROOT = Path(__file__).resolve().parents[3]
MLSERVER = ROOT / ".cache" / "mlserver-venv" / "bin" / "mlserver"


def mlserver_binary() -> Path:
    """The MLServer made by scripts/mlserver-venv.sh; skip outside CI when it is missing, fail in CI."""
    if not MLSERVER.exists():
        reason = f"MLServer not installed at {MLSERVER} (run bash scripts/mlserver-venv.sh; make test does)"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(reason)
        pytest.skip(reason)
    return MLSERVER




class Served:
    """A running MLServer: its gRPC ``target``; ``stop()`` ends it (also done on leaving the context)."""

    def __init__(self, proc: subprocess.Popen[bytes], target: str) -> None:
        self.proc = proc
        self.target = target

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@contextmanager
def mlserver(repo: Path, *, timeout_s: float = 90.0) -> Iterator[Served]:
    """Serve ``repo`` (an exported ``mlserver/`` folder) on loopback; yields the running server; stops it after."""
    binary = mlserver_binary()
    grpc_port = free_port()
    settings = {"host": "127.0.0.1", "http_port": free_port(), "grpc_port": grpc_port, "metrics_port": free_port(),
                "parallel_workers": 0, "grpc_max_message_length": 64 * 1024 * 1024}
    (repo / "settings.json").write_text(json.dumps(settings))
    log = (repo / "mlserver.log").open("wb")
    env = {**os.environ, "IDVERIFY_SERVING_THREADS": "1"}
    proc = subprocess.Popen([str(binary), "start", str(repo)], stdout=log, stderr=subprocess.STDOUT, env=env)
    target = f"127.0.0.1:{grpc_port}"
    served = Served(proc, target)
    try:
        deadline = time.monotonic() + timeout_s
        with grpc.insecure_channel(target) as channel:
            stub = GRPCInferenceServiceStub(channel)  # type: ignore[no-untyped-call]
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"mlserver exited: {(repo / 'mlserver.log').read_text()[-2000:]}")
                try:
                    if stub.ServerReady(pb.ServerReadyRequest(), timeout=1).ready:
                        break
                except grpc.RpcError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("mlserver did not become ready")
                time.sleep(0.3)
        yield served
    finally:
        served.stop()
        log.close()
