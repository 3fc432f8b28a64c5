"""`idverify serve --workers 2` as an operator runs it: two processes behind one gRPC port, one admin port.

Face and document factors are off so each worker starts in about a second; what is tested is the process model
(SO_REUSEPORT sharing, drain on SIGTERM, restart, aggregated metrics and health), not the factors.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import tomllib
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families

from idverify.api.v1 import common_pb2, token_pb2, token_pb2_grpc, verification_pb2, verification_pb2_grpc
from tests.e2e.conftest import free_port


@dataclass
class Cluster:
    data_dir: Path
    metrics_dir: Path
    process: subprocess.Popen[bytes]
    grpc_port: int
    admin_port: int

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    def workers(self) -> dict[int, dict[str, int]]:
        """index -> {pid, admin_port} from the workers' own announcements."""
        found = {}
        for path in self.metrics_dir.glob("worker-*.ready.json"):
            record = json.loads(path.read_text())
            found[record["index"]] = record
        return found

    def api_key(self, role: str) -> str:
        return str(tomllib.loads((self.data_dir / "dev-api-keys.toml").read_text())[role])

    def log(self) -> str:
        return (self.data_dir / "server.log").read_text(errors="replace")


def http_get(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def samples(text: bytes, metric: str, **labels: str) -> float:
    """Sum of the samples called ``metric`` whose labels include ``labels``."""
    total = 0.0
    for family in text_string_to_metric_families(text.decode()):
        for sample in family.samples:
            if sample.name == metric and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def wait_for(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie child of a dead parent is gone for our purposes
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    grpc_port, admin_port = free_port(), free_port()
    metrics = tmp_path / "metrics"
    env = {**os.environ, "IDVERIFY_DATA_DIR": str(tmp_path), "IDVERIFY_GRPC_ADDRESS": f"127.0.0.1:{grpc_port}",
           "IDVERIFY_ADMIN_ADDRESS": f"127.0.0.1:{admin_port}", "IDVERIFY_FACE": "off", "IDVERIFY_DOCUMENTS": "off",
           "PROMETHEUS_MULTIPROC_DIR": str(metrics)}
    env.pop("IDVERIFY_WORKERS", None)
    log = (tmp_path / "server.log").open("ab")
    process = subprocess.Popen([sys.executable, "-m", "idverify", "serve", "--workers", "2", "--grace", "10"],
                               env=env, stdout=log, stderr=log, cwd=tmp_path)
    c = Cluster(tmp_path, metrics, process, grpc_port, admin_port)
    pids: list[int] = []
    try:
        wait_for(lambda: process.poll() is not None
                 or (_listening(admin_port) and http_get(admin_port, "/healthz")[0] == 200), 90, "both workers serving")
        assert process.poll() is None, c.log()[-3000:]
        pids = [w["pid"] for w in c.workers().values()]
        yield c
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        for pid in pids + [w["pid"] for w in c.workers().values()]:
            if pid_alive(pid):
                os.kill(pid, signal.SIGKILL)


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def context(applicant: str) -> common_pb2.ApplicationContext:
    return common_pb2.ApplicationContext(applicant_id=applicant, loan_application_id=f"L-{applicant}",
                                         amount=common_pb2.Money(value="1500.00", currency="CNY"), locale="en")


def start_verification(c: Cluster, applicant: str, timeout: float = 30) -> verification_pb2.StartVerificationResponse:
    """One call on a connection of its own, so SO_REUSEPORT may hand it to either worker."""
    with grpc.insecure_channel(c.address) as channel:
        stub = verification_pb2_grpc.VerificationServiceStub(channel)
        return stub.StartVerification(verification_pb2.StartVerificationRequest(
            context=context(applicant), phone_e164="+8613800138000", payout_account="6222020000000001"),
            metadata=[("x-api-key", c.api_key("app_backend"))], timeout=timeout)


@pytest.mark.slow
def test_two_workers_share_the_port_and_the_parent_adds_up_their_metrics(cluster: Cluster) -> None:
    workers = cluster.workers()
    assert sorted(workers) == [0, 1]
    assert len({w["pid"] for w in workers.values()}) == 2
    assert cluster.process.pid not in {w["pid"] for w in workers.values()}

    for _ in range(24):  # a fresh connection each time: all 24 on one worker would be a 1-in-8-million fluke
        with grpc.insecure_channel(cluster.address) as channel:
            token_pb2_grpc.TokenServiceStub(channel).GetJwks(
                token_pb2.GetJwksRequest(), metadata=[("x-api-key", cluster.api_key("loan_service"))], timeout=10)

    per_worker = {}
    for index, record in workers.items():
        status, body = http_get(record["admin_port"], "/metrics")
        assert status == 200
        per_worker[index] = samples(body, "idverify_rpc_total", method="GetJwks", code="OK")
    assert all(count > 0 for count in per_worker.values()), per_worker
    assert sum(per_worker.values()) == 24

    status, body = http_get(cluster.admin_port, "/metrics")
    assert status == 200
    assert samples(body, "idverify_rpc_total", method="GetJwks", code="OK") == 24
    assert samples(body, "idverify_workers_alive") == 2
    assert samples(body, "idverify_capability", name="face", state="off") == 1  # max across workers, not a sum

    status, health = http_get(cluster.admin_port, "/healthz")
    report = json.loads(health)
    assert status == 200 and report["status"] == "serving"
    assert sorted(w["pid"] for w in report["workers"]) == sorted(w["pid"] for w in workers.values())
    status, jwks = http_get(cluster.admin_port, "/.well-known/jwks.json")
    assert status == 200 and json.loads(jwks)["keys"]
    with grpc.insecure_channel(cluster.address) as channel:  # what the Kubernetes liveness probe asks
        live = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service="idverify.liveness"))
    assert live.status == health_pb2.HealthCheckResponse.SERVING


@pytest.mark.slow
def test_concurrent_writes_from_both_workers_on_one_sqlite_file_all_commit(cluster: Cluster) -> None:
    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(lambda i: start_verification(cluster, f"acct-{i}"), range(32)))
    ids = {r.verification.session_id for r in replies}
    assert len(ids) == 32
    with sqlite3.connect(cluster.data_dir / "idverify.db") as db:
        stored = {row[0] for row in db.execute("SELECT session_id FROM verification_sessions")}
    assert ids <= stored


@pytest.mark.slow
def test_sigterm_lets_an_in_flight_call_finish_and_every_worker_exit_cleanly(cluster: Cluster) -> None:
    pids = [w["pid"] for w in cluster.workers().values()]
    outcome: dict[str, object] = {}

    channel = grpc.insecure_channel(cluster.address)  # connected before the lock is taken: the call goes straight in
    token_pb2_grpc.TokenServiceStub(channel).GetJwks(
        token_pb2.GetJwksRequest(), metadata=[("x-api-key", cluster.api_key("loan_service"))], timeout=10)

    def call() -> None:
        try:
            outcome["reply"] = verification_pb2_grpc.VerificationServiceStub(channel).StartVerification(
                verification_pb2.StartVerificationRequest(context=context("acct-drain"), phone_e164="+8613800138000",
                                                          payout_account="6222020000000001"),
                metadata=[("x-api-key", cluster.api_key("app_backend"))], timeout=30)
        except grpc.RpcError as err:
            outcome["error"] = err

    blocker = sqlite3.connect(cluster.data_dir / "idverify.db", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # holds SQLite's write lock: the next write waits inside a worker
    caller = threading.Thread(target=call)
    caller.start()
    time.sleep(1.5)  # the call is now in a worker, waiting for the lock
    assert "reply" not in outcome and "error" not in outcome
    cluster.process.send_signal(signal.SIGTERM)
    time.sleep(1.0)
    blocker.execute("ROLLBACK")
    blocker.close()
    caller.join(30)
    channel.close()
    assert "error" not in outcome, outcome.get("error")
    assert isinstance(outcome["reply"], verification_pb2.StartVerificationResponse)
    assert cluster.process.wait(30) == 0
    for pid in pids:
        assert not pid_alive(pid)
    assert "workers_stopped" in cluster.log()


@pytest.mark.slow
def test_a_worker_that_dies_is_replaced_and_health_recovers(cluster: Cluster) -> None:
    victim = cluster.workers()[1]["pid"]
    os.kill(victim, signal.SIGKILL)
    wait_for(lambda: cluster.workers().get(1, {}).get("pid", victim) != victim, 60, "a new worker 1")
    wait_for(lambda: http_get(cluster.admin_port, "/healthz")[0] == 200, 30, "health back to serving")
    _, body = http_get(cluster.admin_port, "/metrics")
    assert samples(body, "idverify_worker_restarts_total") == 1
    assert samples(body, "idverify_workers_alive") == 2
    assert start_verification(cluster, "acct-after-restart").verification.session_id


@pytest.mark.slow
def test_workers_do_not_outlive_a_killed_parent(cluster: Cluster) -> None:
    pids = [w["pid"] for w in cluster.workers().values()]
    cluster.process.send_signal(signal.SIGKILL)
    cluster.process.wait(10)
    wait_for(lambda: not any(pid_alive(p) for p in pids), 30, "the orphaned workers to exit")
