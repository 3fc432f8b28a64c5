"""The multi-worker parent's admin HTTP port: aggregated ``/metrics``, ``/healthz`` of every worker, the JWKS."""

from __future__ import annotations

import contextlib
import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from idverify.transport.admin_http import BackgroundHttpServer, QuietHandler
from idverify.transport.workers_port import split_address

if TYPE_CHECKING:
    from idverify.transport.workers import Supervisor, Worker


class _SupervisorCollector:
    """The parent's own series: workers configured and alive, restarts."""

    def __init__(self, supervisor: Supervisor, configured: int) -> None:
        self._supervisor = supervisor
        self._configured = configured

    def collect(self) -> Iterator[Metric]:
        workers = self._supervisor.snapshot()
        yield GaugeMetricFamily("idverify_workers_configured", "Serving processes configured", self._configured)
        yield GaugeMetricFamily("idverify_workers_alive", "Serving processes running",
                                sum(1 for w in workers if w.process.poll() is None))
        yield CounterMetricFamily("idverify_worker_restarts", "Serving processes restarted after dying",
                                  self._supervisor.restarts_total)
        rss = GaugeMetricFamily("idverify_worker_resident_memory_bytes", "Resident memory of each serving process",
                                labels=["worker"])
        for worker in workers:
            resident = resident_bytes(worker.pid)
            if resident is not None and worker.process.poll() is None:
                rss.add_metric([str(worker.index)], resident)
        yield rss


def resident_bytes(pid: int) -> int | None:
    """RSS of a process from /proc (Linux); None when it is gone."""
    try:
        pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE")


def _fetch(port: int, path: str, timeout_s: float = 2.0) -> tuple[int, bytes, dict[str, str]]:
    url = f"http://127.0.0.1:{port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as resp:
            return int(resp.status), resp.read(), dict(resp.headers.items())
    except urllib.error.HTTPError as err:
        return int(err.code), err.read(), dict(err.headers.items())
    except (OSError, ValueError):
        return 0, b"", {}


class ParentAdminServer(BackgroundHttpServer):
    """The admin HTTP port of a multi-worker service, answered by the parent for every worker."""

    def __init__(self, address: str, supervisor: Supervisor) -> None:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(supervisor.metrics_path))  # type: ignore[no-untyped-call]
        registry.register(_SupervisorCollector(supervisor, len(supervisor.snapshot())))
        host, port = split_address(address)
        owner = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                if self.path == "/metrics":
                    self.send(200, generate_latest(registry), {"Content-Type": CONTENT_TYPE_LATEST})
                elif self.path == "/healthz":
                    status, report = owner.health(supervisor.snapshot())
                    self.send(status, json.dumps(report).encode(), {"Content-Type": "application/json"})
                elif self.path == "/.well-known/jwks.json":
                    status, body, headers = owner.from_any_worker(supervisor.snapshot(), self.path)
                    keep = {k: v for k, v in headers.items() if k.lower() in {"content-type", "cache-control"}}
                    self.send(status or 503, body, keep)
                else:
                    self.send(404, b"not found\n", {"Content-Type": "text/plain"})

        super().__init__(host or "0.0.0.0", port, Handler)  # noqa: S104 - as configured

    @staticmethod
    def health(workers: Sequence[Worker]) -> tuple[int, dict[str, Any]]:
        """200 and ``serving`` only when every worker answers its own health as serving."""
        states: list[dict[str, Any]] = []
        details: dict[str, Any] = {}
        for worker in workers:
            status, body = (0, b"")
            if worker.served and worker.process.poll() is None:
                status, body, _ = _fetch(worker.admin_port, "/healthz")
            state = "serving" if status == 200 else ("starting" if not worker.served else "not_serving")
            states.append({"index": worker.index, "pid": worker.pid, "status": state})
            if status == 200 and not details:
                with contextlib.suppress(ValueError):
                    details = {k: v for k, v in json.loads(body).items() if k != "status"}
        ok = bool(states) and all(s["status"] == "serving" for s in states)
        return (200 if ok else 503), {"status": "serving" if ok else "not_serving", **details, "workers": states}

    @staticmethod
    def from_any_worker(workers: Sequence[Worker], path: str) -> tuple[int, bytes, dict[str, str]]:
        for worker in workers:
            if worker.served and worker.process.poll() is None:
                status, body, headers = _fetch(worker.admin_port, path)
                if status == 200:
                    return status, body, headers
        return 503, b'{"error":"no worker is serving"}', {"Content-Type": "application/json"}

