"""mTLS callers: a registered client certificate authenticates with its roles; an unknown subject, a foreign CA or
no certificate is refused; rotated certificate files are picked up without a restart."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from idverify.api.v1 import token_pb2, token_pb2_grpc
from idverify.transport.server import ReloadingCredentials, TlsFiles
from tests.transport.conftest import start_app
from tests.transport.test_server import reason_of, start_request

NOW = dt.datetime.now(dt.UTC)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def make_ca(cn: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn)).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(NOW - dt.timedelta(minutes=1))
            .not_valid_after(NOW + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return key, cert


def issue(ca: tuple[ec.EllipticCurvePrivateKey, x509.Certificate], cn: str, *, server: bool = False
          ) -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(ca[1].subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(NOW - dt.timedelta(minutes=1)).not_valid_after(NOW + dt.timedelta(days=1)))
    if server:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
    cert = builder.sign(ca[0], hashes.SHA256())
    return _pem_key(key), cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture
def pki(tmp_path: Path) -> dict[str, object]:
    ca = make_ca("idverify test CA")
    server_key, server_cert = issue(ca, "localhost", server=True)
    files = {"ca": tmp_path / "ca.pem", "cert": tmp_path / "server.pem", "key": tmp_path / "server.key"}
    files["ca"].write_bytes(ca[1].public_bytes(serialization.Encoding.PEM))
    files["cert"].write_bytes(server_cert)
    files["key"].write_bytes(server_key)
    return {"ca": ca, "files": files, "ca_pem": files["ca"].read_bytes()}


@pytest.fixture
def tls_app(tmp_path: Path, pki: dict[str, object]) -> Iterator[int]:
    files = pki["files"]
    assert isinstance(files, dict)
    app = start_app(tmp_path / "data", IDVERIFY_TLS_CERT_FILE=str(files["cert"]),
                    IDVERIFY_TLS_KEY_FILE=str(files["key"]), IDVERIFY_TLS_CLIENT_CA_FILE=str(files["ca"]),
                    IDVERIFY_MTLS_CALLERS="loan-svc:loan_service,backend:app_backend")
    try:
        yield app.grpc.port
    finally:
        app.stop(grace_s=1)


def channel(port: int, ca_pem: bytes, client: tuple[bytes, bytes] | None) -> grpc.Channel:
    creds = grpc.ssl_channel_credentials(root_certificates=ca_pem, private_key=client[0] if client else None,
                                         certificate_chain=client[1] if client else None)
    return grpc.secure_channel(f"localhost:{port}", creds)


def test_a_registered_certificate_authenticates_with_its_roles_only(tls_app: int, pki: dict[str, object]) -> None:
    from idverify.api.v1 import verification_pb2_grpc

    client = issue(pki["ca"], "loan-svc")  # type: ignore[arg-type]
    with channel(tls_app, pki["ca_pem"], client) as ch:  # type: ignore[arg-type]
        jwks = json.loads(token_pb2_grpc.TokenServiceStub(ch).GetJwks(token_pb2.GetJwksRequest(), timeout=10).jwks_json)
        assert jwks["keys"]
        with pytest.raises(grpc.RpcError) as err:
            verification_pb2_grpc.VerificationServiceStub(ch).StartVerification(start_request(), timeout=10)
        assert reason_of(err.value) == "role_not_allowed"
        # An API key header cannot upgrade a certificate's identity.
        with pytest.raises(grpc.RpcError) as err:
            verification_pb2_grpc.VerificationServiceStub(ch).StartVerification(
                start_request(), metadata=[("x-api-key", "anything")], timeout=10)
        assert reason_of(err.value) == "role_not_allowed"


def test_an_unknown_subject_is_unauthenticated(tls_app: int, pki: dict[str, object]) -> None:
    stranger = issue(pki["ca"], "stranger")  # type: ignore[arg-type]
    with channel(tls_app, pki["ca_pem"], stranger) as ch:  # type: ignore[arg-type]
        with pytest.raises(grpc.RpcError) as err:
            token_pb2_grpc.TokenServiceStub(ch).GetJwks(token_pb2.GetJwksRequest(), timeout=10)
        assert err.value.code() is grpc.StatusCode.UNAUTHENTICATED
        assert reason_of(err.value) == "caller_unknown"


@pytest.mark.parametrize("case", ["no certificate", "foreign CA"])
def test_without_a_certificate_from_our_ca_no_connection_is_made(tls_app: int, pki: dict[str, object],
                                                                case: str) -> None:
    client = None if case == "no certificate" else issue(make_ca("other CA"), "loan-svc")
    with channel(tls_app, pki["ca_pem"], client) as ch:  # type: ignore[arg-type]
        with pytest.raises(grpc.RpcError) as err:
            token_pb2_grpc.TokenServiceStub(ch).GetJwks(token_pb2.GetJwksRequest(), timeout=5)
        assert err.value.code() is grpc.StatusCode.UNAVAILABLE


def test_rotated_certificate_files_are_picked_up_without_a_restart(pki: dict[str, object]) -> None:
    files = pki["files"]
    assert isinstance(files, dict)
    creds = ReloadingCredentials(TlsFiles(files["cert"], files["key"], files["ca"]))
    creds.credentials()
    assert creds.fetch() is None  # unchanged files: keep the current configuration
    new_key, new_cert = issue(pki["ca"], "localhost", server=True)  # type: ignore[arg-type]
    files["cert"].write_bytes(new_cert)
    files["key"].write_bytes(new_key)
    later = time.time() + 5
    os.utime(files["cert"], (later, later))
    assert creds.fetch() is not None
