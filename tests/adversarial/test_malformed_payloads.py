"""Issue 11.3: bytes that are not a valid message get INVALID_ARGUMENT ``request_malformed`` from every RPC,
through the same error table (ErrorInfo, idverify-reason), never INTERNAL; the server keeps serving.

Raw bytes go over a real channel to the real server with identity serializers, so nothing on the client side
can tidy them up."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.protobuf import descriptor_pool
from google.protobuf.descriptor import FieldDescriptor

from idverify.transport.permissions import ALLOWED
from idverify.transport.server import SERVICE_NAMES
from tests.adversarial.conftest import Applicant, replicas
from tests.transport.conftest import Running
from tests.transport.test_server import reason_of


def methods() -> Iterator[tuple[str, bool, bytes | None]]:
    """Every RPC of the contract, whether it streams, and a payload whose first string field is not UTF-8."""
    pool = descriptor_pool.Default()
    for service in SERVICE_NAMES:
        for method in pool.FindServiceByName(service).methods:
            strings = [f.number for f in method.input_type.fields if f.type == FieldDescriptor.TYPE_STRING]
            bad_utf8 = bytes([strings[0] << 3 | 2, 2, 0xC3, 0x28]) if strings and strings[0] < 16 else None
            yield f"/{service}/{method.name}", method.client_streaming, bad_utf8


ALL = sorted(methods())
PAYLOADS = {
    "not_a_message": b"\xff\xff\xff\xff\xff",
    "truncated_varint": b"\x08\x80",
    "length_past_the_end": b"\x0a\x7f\x01",
    "string_not_utf8": b"",  # per method: its first string field holding 0xC3 0x28
}


def key_for(server: Running, method: str) -> list[tuple[str, str]]:
    role = sorted(r.value for r in ALLOWED[method])[0]
    return server.md(role)


def call_raw(server: Running, method: str, streaming: bool, payload: bytes) -> grpc.RpcError:
    try:
        if streaming:
            server.channel.stream_unary(method)(iter([payload]), metadata=key_for(server, method), timeout=10)
        else:
            server.channel.unary_unary(method)(payload, metadata=key_for(server, method), timeout=10)
    except grpc.RpcError as err:
        return err
    raise AssertionError(f"{method} accepted {payload!r}")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("payload", sorted(PAYLOADS))
def test_every_rpc_answers_undecodable_bytes_with_request_malformed(server: Running, payload: str) -> None:
    wrong = {}
    for method, streaming, bad_utf8 in ALL:
        data = bad_utf8 if payload == "string_not_utf8" else PAYLOADS[payload]
        if data is None:
            continue  # no string field to spoil
        err = call_raw(server, method, streaming, data)
        if err.code() is not grpc.StatusCode.INVALID_ARGUMENT or reason_of(err) != "request_malformed":
            wrong[method] = (err.code(), err.details())
    assert not wrong
    assert len(ALL) >= 30  # every service of the contract was tried


def test_a_bad_message_in_the_middle_of_a_liveness_stream_ends_it_with_request_malformed(tmp_path: Path) -> None:
    with replicas(tmp_path, f"sqlite+pysqlite:///{tmp_path / 'db.sqlite'}", IDVERIFY_FACE="on") as (server,):
        bad_stream_ends_malformed(server)


def bad_stream_ends_malformed(server: Running) -> None:
    from idverify.api.v1 import verification_pb2 as V

    who = Applicant(server, "streamer")
    good = V.SubmitLivenessFramesRequest(context=who.context(), session_id="vs_x", challenge_id="lc_x",
                                         image=b"\x89PNG").SerializeToString()
    err = call_raw(server, "/idverify.v1.VerificationService/SubmitLivenessFrames", True, good)
    assert reason_of(err) != "request_malformed"  # a well-formed stream is judged on its content
    with pytest.raises(grpc.RpcError) as bad:
        server.channel.stream_unary("/idverify.v1.VerificationService/SubmitLivenessFrames")(
            iter([good, good, PAYLOADS["truncated_varint"], good]), metadata=server.md(), timeout=10)
    assert bad.value.code() is grpc.StatusCode.INVALID_ARGUMENT and reason_of(bad.value) == "request_malformed"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_malformed_bytes_without_credentials_are_unauthenticated_not_malformed(server: Running) -> None:
    """Nothing about a request is judged before its caller is known."""
    with pytest.raises(grpc.RpcError) as err:
        server.channel.unary_unary("/idverify.v1.TokenService/RedeemToken")(b"\x08\x80", timeout=10)
    assert err.value.code() is grpc.StatusCode.UNAUTHENTICATED
