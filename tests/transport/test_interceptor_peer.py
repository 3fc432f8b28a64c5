"""The interceptor reads the connection's auth context only where a client certificate can name a caller (mutual
TLS configured); without, it never asks, and API keys authenticate as before."""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from idverify.api.v1 import token_pb2
from idverify.domain.callers import Role
from idverify.transport.auth import ApiKeyEntry, Authenticator, hash_api_key
from idverify.transport.interceptors import ServiceInterceptor

METHOD = "/idverify.v1.TokenService/GetJwks"


class Context:
    """A servicer context that counts reads of the auth context and may present a certificate."""

    def __init__(self, metadata: tuple[tuple[str, str], ...], peer: dict[str, list[bytes]] | None = None) -> None:
        self.metadata, self.peer, self.peer_reads, self.trailers = metadata, peer or {}, 0, ()

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self.metadata

    def auth_context(self) -> dict[str, list[bytes]]:
        self.peer_reads += 1
        return self.peer

    def set_trailing_metadata(self, trailers: Any) -> None:
        self.trailers = trailers

    def code(self) -> None:
        return None

    def abort_with_status(self, status: Any) -> None:
        raise PermissionError(dict(status.trailing_metadata)["idverify-reason"])


class Details:
    method = METHOD
    invocation_metadata = ()


def wrapped(client_certificates: bool) -> Any:
    auth = Authenticator([ApiKeyEntry("lender-a", frozenset({Role.LOAN_SERVICE}), bytes.fromhex(hash_api_key("k-1")))],
                         {"loan-svc": frozenset({Role.LOAN_SERVICE})})
    handler = grpc.unary_unary_rpc_method_handler(lambda request, context: token_pb2.GetJwksResponse())
    interceptor = ServiceInterceptor(auth, client_certificates=client_certificates)
    return interceptor.intercept_service(lambda _details: handler, Details()).unary_unary


CERTIFICATE = {"transport_security_type": [b"ssl"], "x509_common_name": [b"loan-svc"]}


def test_without_mutual_tls_the_auth_context_is_never_read() -> None:
    context = Context((("x-api-key", "k-1"),), peer=CERTIFICATE)
    wrapped(client_certificates=False)(token_pb2.GetJwksRequest(), context)
    assert context.peer_reads == 0
    with pytest.raises(PermissionError, match="credentials_missing"):  # a certificate cannot count without mTLS
        wrapped(client_certificates=False)(token_pb2.GetJwksRequest(), Context((), peer=CERTIFICATE))


def test_with_mutual_tls_a_certificate_names_the_caller() -> None:
    context = Context((), peer=CERTIFICATE)
    wrapped(client_certificates=True)(token_pb2.GetJwksRequest(), context)
    assert context.peer_reads == 1
    assert dict(context.trailers)["x-request-id"]
