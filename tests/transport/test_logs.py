"""Logs that help and leak nothing: the RPC line shows its status code, every line of a request carries the
request id (structlog and the standard library's logging alike), and a whole verification leaves no phone number,
ID number, one-time code, token or image bytes in the captured logs."""

from __future__ import annotations

import io
import json
import logging
import re
import time
from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc
import pytest
import structlog

from idverify import logging_setup
from idverify.api.v1 import common_pb2, token_pb2, token_pb2_grpc, verification_pb2, verification_pb2_grpc
from idverify.domain.callers import Role
from idverify.transport.auth import ApiKeyEntry, Authenticator, hash_api_key
from idverify.transport.interceptors import ServiceInterceptor, _RequestIds
from tests.transport.conftest import running_app
from tests.transport.test_server import context, start_request

V = verification_pb2
PHONE, ID_NUMBER, ACCOUNT = "13800138000", "11010519491231002X", "6222020000000001"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    out = io.StringIO()
    logging_setup.configure("DEBUG", "json", stream=out)
    try:
        yield out
    finally:
        logging_setup.configure("WARNING")
        structlog.contextvars.clear_contextvars()


def lines(out: io.StringIO) -> list[dict[str, Any]]:
    logging_setup.rpc_line.flush()  # RPC lines are written by their own thread, a moment later
    return [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]


def test_redaction_keeps_status_codes_and_drops_personal_data() -> None:
    event = logging_setup.redact(None, "info", {
        "event": "rpc", "code": "NOT_FOUND", "reason": "session_not_found",
        "nested": {"code": "123456", "phone": "+8613800138000", "items": [b"\xff\xd8", "eyJhbGciOi.eyJzdWIiOi.c2ln"]},
        "note": "sent 654321 to +86 138 0013 8000", "image": b"\xff\xd8\xff", "at": "2026-11-29T16:10:19.704597Z",
        "chain_hash": "0123456789abcdef" * 4})
    assert event["code"] == "NOT_FOUND"
    assert event["nested"] == {"code": "[redacted]", "phone": "[redacted]", "items": ["[2 bytes]", "[token]"]}
    assert event["note"] == "sent [digits] to [digits]"
    assert event["image"] == "[redacted]"
    assert (event["at"], event["chain_hash"]) == ("2026-11-29T16:10:19.704597Z", "0123456789abcdef" * 4)
    assert logging_setup.redact(None, "info", {"code": "123456"})["code"] == "[redacted]"


def test_every_line_of_a_request_carries_its_request_id(captured: io.StringIO) -> None:
    std = logging.getLogger("idverify.test.std")

    def behaviour(request: bytes, context: grpc.ServicerContext) -> bytes:
        structlog.get_logger("idverify.test").info("inside_request", step=1)
        std.warning("stdlib line inside the request")
        return b""

    with intercepted(behaviour) as call:
        call(b"", metadata=[("x-api-key", "k-1"), ("x-request-id", "req-abc")])
        call(b"", metadata=[("x-api-key", "k-1"), ("x-request-id", "req-def")])
        with pytest.raises(grpc.RpcError) as err:
            call(b"", metadata=[("x-api-key", "wrong"), ("x-request-id", "req-ghi")])
        assert err.value.code() is grpc.StatusCode.UNAUTHENTICATED
    logged = lines(captured)
    inside = [e for e in logged if e["event"] in {"inside_request", "stdlib line inside the request"}]
    assert [(e["request_id"], e["caller"], e["rpc"]) for e in inside] == [
        ("req-abc", "lender-a", "GetJwks")] * 2 + [("req-def", "lender-a", "GetJwks")] * 2
    rpc = [(e["request_id"], e["code"]) for e in logged if e["event"] == "rpc"]
    assert rpc == [("req-abc", "OK"), ("req-def", "OK"), ("req-ghi", "UNAUTHENTICATED")]
    # The RPC line is written without the redactor (its values are the service's own); the redactor would change
    # nothing in it.
    for line in (e for e in logged if e["event"] == "rpc"):
        assert logging_setup.redact(None, "info", dict(line)) == line
        assert {"timestamp", "level", "method", "rpc", "caller", "reason", "ms"} <= set(line)


def test_work_handed_to_the_inference_pool_logs_with_the_request_id(captured: io.StringIO) -> None:
    from idverify.ml.pool import InferencePool

    pool = InferencePool(workers=1, max_pending=2)
    bound = structlog.contextvars.bind_contextvars(request_id="req-pool", rpc="SubmitDocument")
    try:
        pool.run(lambda: structlog.get_logger("idverify.ml").info("model_ran"))
    finally:
        structlog.contextvars.reset_contextvars(**bound)
        pool.shutdown()
    ran = [e for e in lines(captured) if e["event"] == "model_ran"]
    assert [(e["request_id"], e["rpc"]) for e in ran] == [("req-pool", "SubmitDocument")]


@contextmanager
def intercepted(behaviour: Any) -> Iterator[Any]:
    """A server with the service's interceptor (one caller, API key ``k-1``) serving ``behaviour`` as GetJwks; yields
    the call, with bytes in and out."""
    handler = grpc.method_handlers_generic_handler("idverify.v1.TokenService", {
        "GetJwks": grpc.unary_unary_rpc_method_handler(behaviour, request_deserializer=lambda b: b,
                                                       response_serializer=lambda b: b)})
    auth = Authenticator([ApiKeyEntry("lender-a", frozenset({Role.LOAN_SERVICE}), hash_api_key_bytes("k-1"))], {})
    server = grpc.server(futures.ThreadPoolExecutor(2), interceptors=[ServiceInterceptor(auth)])
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield channel.unary_unary("/idverify.v1.TokenService/GetJwks", request_serializer=lambda b: b,
                                      response_deserializer=lambda b: b)
    finally:
        server.stop(None)


def hash_api_key_bytes(key: str) -> bytes:
    return bytes.fromhex(hash_api_key(key))


def test_a_whole_verification_logs_no_personal_data(captured: io.StringIO, tmp_path: Path) -> None:
    with running_app(tmp_path, IDVERIFY_LOG_LEVEL="DEBUG", IDVERIFY_FACE="off") as running:
        stub = verification_pb2_grpc.VerificationServiceStub(running.channel)
        tokens = token_pb2_grpc.TokenServiceStub(running.channel)
        with pytest.raises(grpc.RpcError):  # an ID number where a phone belongs: refused, and not logged
            stub.StartVerification(V.StartVerificationRequest(context=context(), phone_e164=ID_NUMBER,
                                                              payout_account=ACCOUNT), metadata=running.md())
        request = start_request()
        request.payout_account = ACCOUNT
        sid = stub.StartVerification(request, metadata=running.md()).verification.session_id
        stub.SendOtp(V.SendOtpRequest(context=context(), session_id=sid), metadata=running.md())
        running.sms_sent()
        sent = [json.loads(x) for x in (running.data_dir / "sms-outbox.jsonl").read_text().splitlines()]
        match = re.search(r"\b(\d{6})\b", sent[-1]["body"])
        assert match is not None
        code = match.group(1)
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        stub.CheckOtp(V.CheckOtpRequest(context=context(), session_id=sid, code=wrong, channel=V.OTP_CHANNEL_SMS),
                      metadata=running.md())
        stub.CheckOtp(V.CheckOtpRequest(context=context(), session_id=sid, code=code, channel=V.OTP_CHANNEL_SMS),
                      metadata=running.md())
        image = b"\xff\xd8\xff\xe0" + ID_NUMBER.encode() + bytes(range(256)) * 64
        with pytest.raises(grpc.RpcError):  # documents are off here: refused after the bytes reached the server
            stub.SubmitDocument(V.SubmitDocumentRequest(context=context(), session_id=sid, front_image=image),
                                metadata=running.md())
        done = stub.CompleteVerification(V.CompleteVerificationRequest(context=context(), session_id=sid),
                                         metadata=running.md())
        tokens.RedeemToken(token_pb2.RedeemTokenRequest(
            token=done.token, loan_application_id="L-1", amount=common_pb2.Money(value="1000.00", currency="CNY"),
            payout_account=ACCOUNT), metadata=running.md("loan_service"))
        running.sms_sent()
    logged = lines(captured)
    text = captured.getvalue()
    rpcs = [e for e in logged if e["event"] == "rpc"]
    assert {e["method"] for e in rpcs} >= {"StartVerification", "SendOtp", "CheckOtp", "CompleteVerification",
                                          "RedeemToken", "SubmitDocument"}
    assert {e["code"] for e in rpcs} >= {"OK", "INVALID_ARGUMENT", "UNIMPLEMENTED"}
    assert all(e["request_id"] for e in rpcs)
    assert any(e["event"] == "audit_checkpoint" for e in logged), "checkpoints are exported to the log"
    for secret in (PHONE, ID_NUMBER, ACCOUNT, code, done.token, done.token.split(".")[1]):
        assert secret not in text
    assert "\\u00ff\\u00d8" not in text and "ffd8ffe0" not in text


def test_the_request_id_comes_back_in_the_trailers_of_answers_and_errors() -> None:
    with intercepted(lambda request, context: b"") as call:
        _, ok = call.with_call(b"", metadata=[("x-api-key", "k-1"), ("x-request-id", "req-abc")])
        assert dict(ok.trailing_metadata())["x-request-id"] == "req-abc"
        _, fresh = call.with_call(b"", metadata=[("x-api-key", "k-1"), ("x-request-id", "not a valid id!")])
        assigned = dict(fresh.trailing_metadata())["x-request-id"]
        assert re.fullmatch(r"[0-9a-f]{32}", assigned)
        with pytest.raises(grpc.RpcError) as err:
            call(b"", metadata=[("x-api-key", "wrong"), ("x-request-id", "req-ghi")])
        trailers = dict(err.value.trailing_metadata())  # type: ignore[attr-defined]
        assert (trailers["x-request-id"], trailers["idverify-reason"]) == ("req-ghi", "credentials_invalid")


def test_rpc_lines_are_written_by_their_own_thread_and_keep_their_place_in_the_stream(
        captured: io.StringIO) -> None:
    logging_setup.rpc_line(method="GetJwks", code="OK", reason="", ms=0.1, caller="c", request_id="r-1", rpc="x")
    structlog.get_logger("idverify.test").info("after_the_rpc")  # written after the queued RPC line, never before
    logging_setup.rpc_line(method="GetJwks", code="OK", reason="", ms=0.1, caller="c", request_id="r-2", rpc="x")
    deadline = time.monotonic() + 5
    while '"r-2"' not in captured.getvalue() and time.monotonic() < deadline:  # no flush: the writer thread's
        time.sleep(0.01)
    events = [(e["event"], e.get("request_id")) for e in
              (json.loads(line) for line in captured.getvalue().splitlines())]
    assert events == [("rpc", "r-1"), ("after_the_rpc", None), ("rpc", "r-2")]


def test_fresh_request_ids_are_unique_and_a_forked_child_draws_its_own_prefix() -> None:
    ids = _RequestIds()
    drawn = [ids() for _ in range(1000)]
    assert len(set(drawn)) == 1000 and all(re.fullmatch(r"[0-9a-f]{32}", i) for i in drawn)
    assert len({i[:16] for i in drawn}) == 1
    ids._reset()  # what runs in a forked child
    assert ids()[:16] != drawn[0][:16] and ids() not in drawn


def test_a_stalled_log_reader_costs_bounded_memory_and_the_dropped_lines_are_counted(
        captured: io.StringIO, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logging_setup.rpc_line, "max_pending", 3)
    with logging_setup.rpc_line._lock:  # the writer thread cannot write meanwhile, as if the reader had stalled
        for n in range(5):
            logging_setup.rpc_line(method="GetJwks", code="OK", reason="", ms=0.1, caller="c", request_id=f"r-{n}",
                                   rpc="x")
        logging_setup.rpc_line.flush()
    events = [json.loads(line) for line in captured.getvalue().splitlines()]
    assert [e.get("request_id") for e in events if e["event"] == "rpc"] == ["r-0", "r-1", "r-2"]
    assert [(e["event"], e["count"]) for e in events if e["event"] != "rpc"] == [("rpc_lines_dropped", 2)]


def test_a_line_that_cannot_be_rendered_is_counted_and_the_writer_goes_on(captured: io.StringIO) -> None:
    with logging_setup.rpc_line._lock:
        logging_setup.rpc_line(method="GetJwks", code="OK", request_id="r-bad", extra={1: "a key orjson refuses"})
        logging_setup.rpc_line(method="GetJwks", code="OK", request_id="r-good")
        logging_setup.rpc_line.flush()
    events = [json.loads(line) for line in captured.getvalue().splitlines()]
    assert [(e["event"], e.get("request_id"), e.get("count")) for e in events] == [
        ("rpc", "r-good", None), ("rpc_lines_dropped", None, 1)]
