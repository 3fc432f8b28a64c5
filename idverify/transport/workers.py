"""`idverify serve --workers N`: N serving processes on one gRPC port, supervised by the parent.

Why processes: one Python process has one GIL for every RPC, inference pre-processing included. Each worker is a
fresh interpreter (``python -m idverify serve --worker-index I``, never ``fork`` after grpc and onnxruntime have
started threads) with its own model sessions, connection pool and thread pools. They share the port through
SO_REUSEPORT: the parent binds the port first (without listening) so a port taken by another program fails at
start-up, and so ``:0`` resolves to one port that every worker then joins.

The parent:
- runs nothing per request; it starts the workers, serves the admin HTTP port once for all of them (``/metrics``
  aggregated with prometheus_client's multiprocess mode, ``/healthz`` asking every worker, the JWKS from a serving
  worker), and restarts a worker that dies. A worker that dies before it ever served stops everything with its
  exit status (a configuration error would only repeat); more than ``MAX_RESTARTS`` restarts within
  ``RESTART_WINDOW_S`` also stop everything, with exit status 1, so an orchestrator sees the crash loop.
- forwards SIGTERM/SIGINT to every worker, which turn NOT_SERVING, stop accepting and drain their in-flight RPCs
  within the grace period; it waits for them, kills what is left after a margin, and exits 0 only when every
  worker exited 0.

Each worker holds the read end of a pipe whose write end only the parent has: when the parent dies, even by
SIGKILL, the worker reads end-of-file and drains by itself, so no worker outlives its supervisor.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import structlog
from prometheus_client.multiprocess import mark_process_dead

from idverify.transport.workers_admin import ParentAdminServer, _SupervisorCollector, resident_bytes
from idverify.transport.workers_port import join_address, reserve_port, split_address

__all__ = [  # _SupervisorCollector: tests/deploy/test_ops.py lists the supervisor's series through this module
    "KILL_MARGIN_S", "MAX_RESTARTS", "MULTIPROC_ENV", "RESTART_WINDOW_S", "START_TIMEOUT_S", "ParentAdminServer",
    "Supervisor", "Worker", "WorkerPlan", "_SupervisorCollector", "announce_ready", "join_address", "metrics_dir",
    "reserve_port", "resident_bytes", "split_address", "supervise", "watch_parent",
]

log = structlog.get_logger("idverify.workers")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
MAX_RESTARTS = 5
RESTART_WINDOW_S = 60.0
#: Seconds beyond the drain grace before a worker that has not exited is killed.
KILL_MARGIN_S = 10.0
START_TIMEOUT_S = 300.0


@contextlib.contextmanager
def metrics_dir(env: Mapping[str, str]) -> Iterator[Path]:
    """The multiprocess metrics folder: ``PROMETHEUS_MULTIPROC_DIR`` when set (emptied of earlier runs' files),
    else a temporary folder removed at exit."""
    given = env.get(MULTIPROC_ENV)
    if given:
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()
        yield path
        return
    path = Path(tempfile.mkdtemp(prefix="idverify-metrics-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def announce_ready(path: Path, *, index: int, grpc_port: int, admin_port: int) -> None:
    """Written by a worker once it serves: the parent reads its private admin port from here."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"index": index, "pid": os.getpid(), "grpc_port": grpc_port, "admin_port": admin_port}))
    tmp.replace(path)


def watch_parent(fd: int, on_gone: Callable[[], None]) -> threading.Thread:
    """Call ``on_gone`` when the parent's end of the pipe closes (the parent exited or was killed)."""

    def watch() -> None:
        with contextlib.suppress(OSError):
            while os.read(fd, 1):
                pass
        on_gone()

    thread = threading.Thread(target=watch, name="parent-watch", daemon=True)
    thread.start()
    return thread


@dataclass
class Worker:
    index: int
    process: subprocess.Popen[bytes]
    pipe_w: int
    ready_file: Path
    admin_port: int = 0
    served: bool = False

    @property
    def pid(self) -> int:
        return int(self.process.pid)

    def poll_ready(self) -> bool:
        if not self.served and self.ready_file.exists():
            self.admin_port = int(json.loads(self.ready_file.read_text())["admin_port"])
            self.served = True
        return self.served

    def close_pipe(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.pipe_w)


@dataclass
class WorkerPlan:
    """What the parent needs to run its workers: how many, the command line of one worker (the parent appends
    ``--worker-index`` and friends), and the environment it gives them."""

    count: int
    command: Sequence[str]
    env: Mapping[str, str]
    grace_s: float
    admin_address: str


class Supervisor:
    def __init__(self, plan: WorkerPlan, metrics_path: Path, clock: Callable[[], float] = time.monotonic) -> None:
        self._plan = plan
        self._metrics_path = metrics_path
        self._clock = clock
        self._workers: dict[int, Worker] = {}
        self._stop = threading.Event()
        self._restarts_total = 0
        self._recent_restarts: list[float] = []
        self._admin: ParentAdminServer | None = None

    @property
    def admin_port(self) -> int:
        return self._admin.port if self._admin is not None else 0

    def request_stop(self) -> None:
        self._stop.set()

    def _spawn(self, index: int) -> Worker:
        ready = self._metrics_path / f"worker-{index}.ready.json"
        ready.unlink(missing_ok=True)
        pipe_r, pipe_w = os.pipe()
        argv = [*self._plan.command, "--worker-index", str(index), "--worker-ready-file", str(ready),
                "--parent-fd", str(pipe_r)]
        env = {**self._plan.env, MULTIPROC_ENV: str(self._metrics_path)}
        try:
            process = subprocess.Popen(argv, env=env, pass_fds=(pipe_r,))  # noqa: S603 - our own interpreter
        finally:
            os.close(pipe_r)
        log.info("worker_started", index=index, pid=process.pid)
        return Worker(index, process, pipe_w, ready)

    def start(self, timeout_s: float = START_TIMEOUT_S) -> int | None:
        """Start every worker and wait until each serves. Returns None when all serve, else the exit status to
        leave with (a worker failed to start, or a stop was requested)."""
        for index in range(self._plan.count):
            self._workers[index] = self._spawn(index)
        deadline = self._clock() + timeout_s
        while not all(w.poll_ready() for w in self._workers.values()):
            failed = next((w for w in self._workers.values() if w.process.poll() is not None), None)
            if failed is not None:
                code = failed.process.returncode
                log.error("worker_failed_to_start", index=failed.index, exit_code=code)
                self._shutdown()
                return code if code and code > 0 else 1
            if self._stop.is_set() or self._clock() > deadline:
                log.error("workers_not_ready", stopping=self._stop.is_set())
                self._shutdown()
                return 0 if self._stop.is_set() else 1
            self._stop.wait(0.1)
        self._admin = ParentAdminServer(self._plan.admin_address, self)
        self._admin.start()
        return None

    def run(self) -> int:
        """Supervise until a stop is requested (restarting dead workers), then drain. Returns the exit status."""
        while not self._stop.wait(0.2):
            for index, worker in list(self._workers.items()):
                if worker.process.poll() is None:
                    worker.poll_ready()
                    continue
                log.error("worker_died", index=index, pid=worker.pid, exit_code=worker.process.returncode)
                self._forget(worker)
                now = self._clock()
                self._recent_restarts = [t for t in self._recent_restarts if now - t < RESTART_WINDOW_S] + [now]
                if len(self._recent_restarts) > MAX_RESTARTS:
                    log.error("worker_crash_loop", restarts=len(self._recent_restarts), window_s=RESTART_WINDOW_S)
                    self._shutdown()
                    return 1
                self._restarts_total += 1
                self._workers[index] = self._spawn(index)
        return self._shutdown()

    def _forget(self, worker: Worker) -> None:
        worker.close_pipe()
        worker.ready_file.unlink(missing_ok=True)
        mark_process_dead(worker.pid, str(self._metrics_path))  # type: ignore[no-untyped-call]

    def _shutdown(self) -> int:
        """Forward SIGTERM, wait for the drain, kill stragglers. 0 when every worker exited 0."""
        live = [w for w in self._workers.values() if w.process.poll() is None]
        log.info("workers_stopping", workers=len(live), grace_s=self._plan.grace_s)
        for worker in live:
            with contextlib.suppress(ProcessLookupError):
                worker.process.send_signal(signal.SIGTERM)
        deadline = self._clock() + self._plan.grace_s + KILL_MARGIN_S
        ok = True
        for worker in self._workers.values():
            try:
                code = worker.process.wait(max(0.1, deadline - self._clock()))
            except subprocess.TimeoutExpired:
                log.error("worker_killed_after_grace", index=worker.index, pid=worker.pid)
                worker.process.kill()
                code = worker.process.wait()
            ok = ok and code == 0
            self._forget(worker)
        if self._admin is not None:
            self._admin.stop()
        log.info("workers_stopped", clean=ok)
        return 0 if ok else 1

    def snapshot(self) -> list[Worker]:
        return [w for _, w in sorted(self._workers.items())]

    @property
    def restarts_total(self) -> int:
        return self._restarts_total

    @property
    def metrics_path(self) -> Path:
        return self._metrics_path


def supervise(count: int, *, env: Mapping[str, str], grpc_address: str, admin_address: str, grace_s: float,
              version: str) -> int:
    """Run ``count`` workers of ``python -m idverify serve`` on one gRPC port until SIGTERM or SIGINT."""
    try:
        reserved, port = reserve_port(grpc_address)
    except OSError as exc:
        print(f"idverify: cannot listen on {grpc_address}: {exc.strerror}", file=sys.stderr)
        return 2
    host, _ = split_address(grpc_address)
    worker_env = {**env, "IDVERIFY_WORKERS": str(count), "IDVERIFY_GRPC_ADDRESS": join_address(host, port),
                  "IDVERIFY_ADMIN_ADDRESS": "127.0.0.1:0", "IDVERIFY_MIGRATE_ON_START": "false"}
    command = [sys.executable, "-m", "idverify", "serve", "--grace", str(grace_s)]
    with reserved, metrics_dir(env) as path:
        supervisor = Supervisor(WorkerPlan(count, command, worker_env, grace_s, admin_address), path)

        def on_signal(_signum: int, _frame: object) -> None:
            supervisor.request_stop()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        failed = supervisor.start()
        if failed is not None:
            return failed
        print(f"idverify {version} serving gRPC on port {port}, admin HTTP on port {supervisor.admin_port} "
              f"({count} workers)", file=sys.stderr, flush=True)
        return supervisor.run()
