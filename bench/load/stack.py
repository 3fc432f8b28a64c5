"""Everything a load run starts on this machine, and stops again: a database of its own on the local PostgreSQL,
PgBouncer in transaction mode in front of it, N idverify replicas (`idverify serve --workers W` each) and nginx
balancing gRPC calls over them with ``grpc_pass``. Loopback only, ephemeral ports, one temporary folder.

``with Stack(...) as stack:`` guarantees the teardown: replicas get SIGTERM (then SIGKILL), nginx and PgBouncer
stop, the database is dropped, the folder removed.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import psycopg
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

# Ports drawn below the kernel's ephemeral range, so no outgoing connection takes one before its server binds it.
from tests.e2e.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
PG_ADMIN = os.environ.get("IDVERIFY_LOAD_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
ROLES = {"backend": "app_backend", "loans-a": "loan_service", "loans-b": "loan_service", "analyst": "risk_analyst"}


def wait_port(port: int, timeout: float, what: str, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on {port} within {timeout} s")


@dataclass
class Replica:
    index: int
    process: subprocess.Popen[bytes]
    grpc_port: int
    admin_port: int
    data_dir: Path

    @property
    def outbox(self) -> Path:
        return self.data_dir / "sms-outbox.jsonl"

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.admin_port}/healthz", timeout=2) as resp:
                return bool(resp.status == 200)
        except OSError:
            return False


@dataclass
class Stack:
    replicas: int
    workers: int = 1
    pgbouncer: bool = True
    face: bool = True
    pool_size: int = 20
    keep_logs: Path | None = None
    api_keys: dict[str, str] = field(default_factory=dict)
    _tmp: Path | None = None
    _procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _replicas: list[Replica] = field(default_factory=list)
    _db: str = ""
    nginx_port: int = 0
    db_port: int = 5432
    env: dict[str, str] = field(default_factory=dict)

    # -- lifecycle -------------------------------------------------------------------------------------------
    def __enter__(self) -> Stack:
        self._tmp = Path(tempfile.mkdtemp(prefix="idverify-load-"))
        self._tmp.chmod(0o711)  # PgBouncer runs as postgres and must reach its own folder inside
        try:
            self._create_database()
            if self.pgbouncer:
                self._start_pgbouncer()
            self.env = env = self._service_env()
            self._migrate(env)
            for index in range(self.replicas):
                self._start_replica(index, env)
            deadline = time.monotonic() + 180
            while not all(r.healthy() for r in self._replicas):
                for r in self._replicas:
                    if r.process.poll() is not None:
                        raise RuntimeError(f"replica {r.index} exited: {self._tail(r.data_dir / 'server.log')}")
                if time.monotonic() > deadline:
                    raise RuntimeError("replicas did not become healthy")
                time.sleep(0.3)
            self._start_nginx()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        for proc in reversed(self._procs):
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)
        for proc in reversed(self._procs):
            try:
                proc.wait(45)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        if self._db:
            with contextlib.suppress(psycopg.Error), psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self._db}" WITH (FORCE)')
        if self._tmp is not None:
            if self.keep_logs is not None:
                self.keep_logs.mkdir(parents=True, exist_ok=True)
                for log in self._tmp.rglob("*.log"):
                    shutil.copy(log, self.keep_logs / f"{log.parent.name}-{log.name}")
            shutil.rmtree(self._tmp, ignore_errors=True)

    # -- pieces ----------------------------------------------------------------------------------------------
    @property
    def tmp(self) -> Path:
        assert self._tmp is not None
        return self._tmp

    @property
    def direct_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:5432/{self._db}"

    @property
    def service_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.db_port}/{self._db}"

    @property
    def helpers(self) -> list[subprocess.Popen[bytes]]:
        """nginx and PgBouncer."""
        replicas = {r.process.pid for r in self._replicas}
        return [p for p in self._procs if p.pid not in replicas]

    @property
    def replica_list(self) -> list[Replica]:
        return list(self._replicas)

    def _create_database(self) -> None:
        self._db = f"idverify_load_{os.getpid()}_{secrets.token_hex(3)}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self._db}"')

    def _start_pgbouncer(self) -> None:
        self.db_port = free_port()
        folder = self.tmp / "pgbouncer"
        folder.mkdir()
        (folder / "userlist.txt").write_text('"postgres" ""\n')
        (folder / "pgbouncer.ini").write_text(
            "[databases]\n"
            f"{self._db} = host=127.0.0.1 port=5432 dbname={self._db}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.db_port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {folder / 'userlist.txt'}\n"
            f"pool_mode = transaction\ndefault_pool_size = {self.pool_size}\nmax_client_conn = 500\n"
            f"logfile = {folder / 'pgbouncer.log'}\npidfile = {folder / 'pgbouncer.pid'}\n"
            "ignore_startup_parameters = extra_float_digits,options\n"
        )
        user = ["-u", "postgres"] if os.geteuid() == 0 else []  # PgBouncer refuses to run as root
        os.chown(folder, *_uid_gid("postgres")) if user else None
        for path in folder.iterdir():
            os.chown(path, *_uid_gid("postgres")) if user else None
        proc = subprocess.Popen(["pgbouncer", *user, str(folder / "pgbouncer.ini")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._procs.append(proc)
        wait_port(self.db_port, 20, "pgbouncer", proc)

    def _service_env(self) -> dict[str, str]:
        def key32() -> str:
            return base64.b64encode(secrets.token_bytes(32)).decode()

        self.api_keys = {caller: secrets.token_urlsafe(32) for caller in ROLES}
        entries = ",".join(f"{caller}:{ROLES[caller]}:{hashlib.sha256(key.encode()).hexdigest()}"
                           for caller, key in self.api_keys.items())
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("IDVERIFY_", "PROMETHEUS_"))}
        env.update({
            "IDVERIFY_ENV": "development",
            "IDVERIFY_DATABASE_URL": self.service_url,
            "IDVERIFY_DATABASE_PREPARED_STATEMENTS": "false" if self.pgbouncer else "true",
            "IDVERIFY_API_KEYS": entries,
            "IDVERIFY_SIGNING_KEYS": pem,
            "IDVERIFY_DATA_KEYS": f"k1:{key32()}",
            "IDVERIFY_INDEX_KEY": key32(),
            "IDVERIFY_OTP_KEY": key32(),
            "IDVERIFY_PAIRWISE_SECRET": key32(),
            "IDVERIFY_AUDIT_KEY": key32(),
            "IDVERIFY_FACE": "on" if self.face else "off",
            "IDVERIFY_DOCUMENTS": "off",
            "IDVERIFY_PAD": "off",
            "IDVERIFY_INFERENCE_THREADS": "1",
            "IDVERIFY_INFERENCE_QUEUE": "64",
            "IDVERIFY_MIGRATE_ON_START": "false",
            "IDVERIFY_LOG_LEVEL": "WARNING",
            "IDVERIFY_WORKERS": str(self.workers),
            # One tenant's sustained traffic: at night (Asia/Shanghai) the default night_burst limit (5 starts in
            # 10 minutes) would step every verification up to liveness, as it should for a small lender.
            "IDVERIFY_RISK_NIGHT_BURST_MAX_STARTS": "10000000",
        })
        return env

    def _migrate(self, env: dict[str, str]) -> None:
        done = subprocess.run([sys.executable, "-m", "idverify", "db", "upgrade"], check=False, cwd=self.tmp,
                              capture_output=True,
                              text=True, timeout=300, env={**env, "IDVERIFY_DATABASE_URL": self.direct_url,
                                                           "IDVERIFY_DATABASE_PREPARED_STATEMENTS": "true",
                                                           "IDVERIFY_DATA_DIR": str(self.tmp / "migrate")})
        if done.returncode != 0:
            raise RuntimeError(f"migration failed: {done.stderr[-2000:]}")

    def _start_replica(self, index: int, env: dict[str, str]) -> None:
        data = self.tmp / f"replica-{index}"
        data.mkdir()
        grpc_port, admin_port = free_port(), free_port()
        log = (data / "server.log").open("ab")
        proc = subprocess.Popen(
            [sys.executable, "-m", "idverify", "serve", "--grace", "10"], cwd=data, stdout=log, stderr=log,
            env={**env, "IDVERIFY_DATA_DIR": str(data), "IDVERIFY_GRPC_ADDRESS": f"127.0.0.1:{grpc_port}",
                 "IDVERIFY_ADMIN_ADDRESS": f"127.0.0.1:{admin_port}"})
        self._procs.append(proc)
        self._replicas.append(Replica(index, proc, grpc_port, admin_port, data))

    def _start_nginx(self) -> None:
        self.nginx_port = free_port()
        folder = self.tmp / "nginx"
        folder.mkdir()
        upstream = "".join(f"    server 127.0.0.1:{r.grpc_port};\n" for r in self._replicas)
        (folder / "nginx.conf").write_text(
            ("user root root;\n" if os.geteuid() == 0 else "")
            + f"worker_processes 1;\npid {folder}/nginx.pid;\nerror_log {folder}/error.log warn;\n"
            "events { worker_connections 4096; }\n"
            "http {\n"
            f"  access_log off;\n  client_body_temp_path {folder}/body;\n"
            f"  proxy_temp_path {folder}/proxy;\n  fastcgi_temp_path {folder}/fastcgi;\n"
            f"  uwsgi_temp_path {folder}/uwsgi;\n  scgi_temp_path {folder}/scgi;\n"
            f"  upstream idverify_grpc {{\n{upstream}    keepalive 64;\n  }}\n"
            f"  server {{\n    listen 127.0.0.1:{self.nginx_port} http2;\n    client_max_body_size 9m;\n"
            "    location / {\n      grpc_pass grpc://idverify_grpc;\n      grpc_read_timeout 60s;\n"
            "    }\n  }\n}\n")
        proc = subprocess.Popen(["nginx", "-p", str(folder), "-c", str(folder / "nginx.conf"), "-g", "daemon off;"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._procs.append(proc)
        wait_port(self.nginx_port, 20, "nginx", proc)

    @staticmethod
    def _tail(path: Path) -> str:
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""


def _uid_gid(user: str) -> tuple[int, int]:
    import pwd

    entry = pwd.getpwnam(user)
    return entry.pw_uid, entry.pw_gid
