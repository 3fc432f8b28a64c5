"""The gRPC server: thread-pool server (measured faster than grpc.aio on 2 cores for these RPCs), health,
reflection, message limits, TLS/mTLS with certificate reload, and graceful shutdown."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import grpc
import structlog
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from idverify.api.v1 import (
    audit_pb2,
    audit_pb2_grpc,
    case_pb2,
    case_pb2_grpc,
    face_pb2,
    face_pb2_grpc,
    person_pb2,
    person_pb2_grpc,
    token_pb2,
    token_pb2_grpc,
    verification_pb2,
    verification_pb2_grpc,
)
from idverify.transport.rpc_executor import RpcExecutor

log = structlog.get_logger("idverify.server")

#: A health service name that is SERVING from start to shutdown whatever the database does: the liveness probe's
#: (a database outage must take pods out of rotation, never restart them).
LIVENESS_SERVICE = "idverify.liveness"

SERVICE_NAMES = (
    verification_pb2.DESCRIPTOR.services_by_name["VerificationService"].full_name,
    token_pb2.DESCRIPTOR.services_by_name["TokenService"].full_name,
    case_pb2.DESCRIPTOR.services_by_name["CaseService"].full_name,
    audit_pb2.DESCRIPTOR.services_by_name["AuditService"].full_name,
    face_pb2.DESCRIPTOR.services_by_name["FaceService"].full_name,
    person_pb2.DESCRIPTOR.services_by_name["PersonService"].full_name,
)


@dataclass(frozen=True)
class Servicers:
    verification: verification_pb2_grpc.VerificationServiceServicer
    token: token_pb2_grpc.TokenServiceServicer
    case: case_pb2_grpc.CaseServiceServicer
    audit: audit_pb2_grpc.AuditServiceServicer
    face: face_pb2_grpc.FaceServiceServicer
    person: person_pb2_grpc.PersonServiceServicer


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path
    client_ca: Path | None


class ReloadingCredentials:
    """Server credentials re-read from disk whenever the certificate files change, so certificates rotate
    without a restart (gRPC asks before each new TLS handshake)."""

    def __init__(self, files: TlsFiles) -> None:
        self._files = files
        self._stamp: tuple[float, ...] = ()

    def _mtimes(self) -> tuple[float, ...]:
        paths = [self._files.cert, self._files.key] + ([self._files.client_ca] if self._files.client_ca else [])
        return tuple(os.stat(p).st_mtime_ns for p in paths)

    def _config(self) -> Any:
        ca = self._files.client_ca.read_bytes() if self._files.client_ca else None
        return grpc.ssl_server_certificate_configuration(
            [(self._files.key.read_bytes(), self._files.cert.read_bytes())], root_certificates=ca
        )

    def fetch(self) -> Any:
        stamp = self._mtimes()
        if stamp == self._stamp:
            return None  # unchanged: keep the current configuration
        self._stamp = stamp
        log.info("tls_certificates_loaded")
        return self._config()

    def credentials(self) -> grpc.ServerCredentials:
        initial = self._config()
        self._stamp = self._mtimes()
        return grpc.dynamic_ssl_server_credentials(
            initial, self.fetch, require_client_authentication=self._files.client_ca is not None
        )


class GrpcServer:
    def __init__(
        self,
        *,
        address: str,
        servicers: Servicers,
        interceptors: Sequence[grpc.ServerInterceptor],
        workers: int,
        max_message_bytes: int,
        concurrency: int,
        tls: TlsFiles | None = None,
        ready_check: Callable[[], bool] = lambda: True,
        reuse_port: bool = False,
    ) -> None:
        # One process alone refuses a port that is already taken (so_reuseport 0); the workers of
        # `idverify serve --workers N` share theirs, and the kernel spreads connections across them.
        # Up to ``workers`` threads, ``concurrency`` of them running RPCs at once (see rpc_executor).
        self._executor = RpcExecutor(workers, concurrency, thread_name_prefix="rpc")
        self._server = grpc.server(
            cast(futures.ThreadPoolExecutor, self._executor),  # grpcio only calls submit; its stubs name this class
            interceptors=list(interceptors),
            options=[
                ("grpc.max_receive_message_length", max_message_bytes),
                ("grpc.max_send_message_length", max_message_bytes),
                ("grpc.so_reuseport", 1 if reuse_port else 0),
            ],
        )
        verification_pb2_grpc.add_VerificationServiceServicer_to_server(servicers.verification, self._server)
        token_pb2_grpc.add_TokenServiceServicer_to_server(servicers.token, self._server)
        case_pb2_grpc.add_CaseServiceServicer_to_server(servicers.case, self._server)
        audit_pb2_grpc.add_AuditServiceServicer_to_server(servicers.audit, self._server)
        face_pb2_grpc.add_FaceServiceServicer_to_server(servicers.face, self._server)
        person_pb2_grpc.add_PersonServiceServicer_to_server(servicers.person, self._server)
        self.health = health.HealthServicer(experimental_non_blocking=True)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self._server)
        reflection.enable_server_reflection(
            (*SERVICE_NAMES, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME),
            self._server,
        )
        self._set_all(health_pb2.HealthCheckResponse.NOT_SERVING)
        if tls is None:
            self.port = self._server.add_insecure_port(address)
        else:
            self.port = self._server.add_secure_port(address, ReloadingCredentials(tls).credentials())
        if self.port == 0:
            raise OSError(f"cannot listen on {address}")
        self._ready_check = ready_check
        self._stopping = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="readiness", daemon=True)

    def _set_all(self, status: int) -> None:
        self.health.set("", status)
        for name in SERVICE_NAMES:
            self.health.set(name, status)

    def _watch(self) -> None:
        """Follow the dependencies: NOT_SERVING while the database is unreachable, SERVING once it is back."""
        serving: bool | None = None
        while not self._stopping.is_set():
            ok = False
            try:
                ok = self._ready_check()
            except Exception:  # noqa: BLE001 - a failing check means not ready, nothing more
                ok = False
            if ok != serving:
                serving = ok
                serving_status = health_pb2.HealthCheckResponse
                self._set_all(serving_status.SERVING if ok else serving_status.NOT_SERVING)
                log.info("health_changed", serving=ok)
            self._stopping.wait(2.0)

    def start(self) -> None:
        self._server.start()
        self.health.set(LIVENESS_SERVICE, health_pb2.HealthCheckResponse.SERVING)
        self._watcher.start()

    def stop(self, grace_s: float) -> None:
        """Turn health NOT_SERVING, stop accepting RPCs, let in-flight ones finish within ``grace_s``."""
        self._stopping.set()
        self._set_all(health_pb2.HealthCheckResponse.NOT_SERVING)
        self.health.set(LIVENESS_SERVICE, health_pb2.HealthCheckResponse.NOT_SERVING)
        self._server.stop(grace_s).wait()
        self._executor.shutdown(wait=True)

    def wait(self) -> None:
        self._server.wait_for_termination()
