"""The service as a person runs it: `idverify serve` and the `idverify client` commands."""

from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import Server, written_lines

CTX = ["--applicant", "acct-9", "--loan", "L-900", "--amount", "1500.00", "--locale", "en"]


def client_json(server: Server, *args: str) -> dict:  # type: ignore[type-arg]
    done = server.cli("--json", *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.slow
def test_a_person_opens_reads_and_cancels_a_verification_with_the_cli(server: Server) -> None:
    server.start()
    assert server.cli("health").stdout.strip() == "SERVING"
    started = client_json(server, "start", *CTX, "--phone", "+8613800138000", "--payout-account", "6222-01")
    session = started["verification"]
    assert session["required_factors"] == ["FACTOR_SMS_OTP"]
    got = client_json(server, "get", *CTX, "--session", session["session_id"])
    assert got["verification"]["reference"] == session["reference"]
    cancelled = client_json(server, "cancel", *CTX, "--session", session["session_id"])
    assert cancelled["verification"]["status"] == "VERIFICATION_STATUS_CANCELLED"
    again = server.cli("cancel", *CTX, "--session", session["session_id"])
    assert again.returncode == 1 and "FAILED_PRECONDITION session_cancelled" in again.stderr
    assert server.terminate() == 0


@pytest.mark.slow
def test_a_killed_server_loses_no_committed_session(server: Server) -> None:
    server.start()
    started = client_json(server, "start", *CTX, "--phone", "+8613800138000", "--payout-account", "6222-01")
    sid = started["verification"]["session_id"]
    server.kill()
    server.start()
    got = client_json(server, "get", *CTX, "--session", sid)
    assert got["verification"] == started["verification"]
    log = (server.data_dir / "server.log").read_text()
    assert "13800138000" not in log and "6222-01" not in log


@pytest.mark.slow
def test_the_audit_cli_verifies_the_chain_and_finds_a_hand_edit(server: Server) -> None:
    import os
    import sqlite3
    import subprocess
    import sys

    server.start()
    client_json(server, "start", *CTX, "--phone", "+8613800138000", "--payout-account", "6222-01")
    assert server.terminate() == 0
    env = {**os.environ, "IDVERIFY_DATA_DIR": str(server.data_dir)}

    def audit_verify() -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "idverify", "audit", "verify"], env=env, capture_output=True,
                              text=True, timeout=60, cwd=server.data_dir)

    ok = audit_verify()
    assert ok.returncode == 0 and "verifies" in ok.stdout
    with sqlite3.connect(server.data_dir / "idverify.db") as db:
        db.execute("UPDATE audit_entries SET object_id = 'someone-else' WHERE seq = 1")
    broken = audit_verify()
    assert broken.returncode == 1 and "broken at seq 1: edited" in broken.stdout
    retention = subprocess.run([sys.executable, "-m", "idverify", "retention", "run"], env=env,
                               capture_output=True, text=True, timeout=60, cwd=server.data_dir)
    assert retention.returncode == 0 and "session_faces: 0 deleted" in retention.stdout


def texts(server: Server, count: int, timeout_s: float = 10.0) -> list[str]:
    """The development SMS file once it holds ``count`` texts (the outbox sends them just after the commit)."""
    import time

    path = server.data_dir / "sms-outbox.jsonl"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        lines = written_lines(path)
        if len(lines) >= count:
            return lines
        time.sleep(0.05)
    raise AssertionError(f"fewer than {count} texts in {path}")


@pytest.mark.slow
def test_a_person_completes_an_otp_verification_and_the_loan_service_redeems_it_once(server: Server) -> None:
    import re

    server.start()
    started = client_json(server, "start", *CTX, "--phone", "+8613800138000", "--payout-account", "6222-01")
    sid = started["verification"]["session_id"]
    sent = client_json(server, "send-otp", *CTX, "--session", sid)
    assert sent["code_length"] == 6
    outbox = texts(server, 1)
    code = re.search(r"\b(\d{6})\b", json.loads(outbox[-1])["body"]).group(1)  # type: ignore[union-attr]
    checked = client_json(server, "check-otp", *CTX, "--session", sid, "--code", code)
    assert checked["result"]["outcome"] == "FACTOR_OUTCOME_PASSED"
    done = client_json(server, "complete", *CTX, "--session", sid)
    token = done["token"]
    redeem = ["redeem", "--token", token, "--loan", "L-900", "--amount", "1500.00", "--payout-account", "6222-01"]
    first = client_json(server, *redeem)
    assert first["session_id"] == sid
    again = client_json(server, *redeem)  # the same lender retrying: the original redemption, not a second one
    assert (again["redemption_id"], again["redeemed_at"]) == (first["redemption_id"], first["redeemed_at"])
    notice = json.loads(texts(server, 2)[-1])
    assert done["verification"]["reference"] in notice["body"]


@pytest.mark.slow
@pytest.mark.shared_data
def test_sigterm_lets_an_in_flight_rpc_finish(server: Server) -> None:
    """A client-streaming SubmitLivenessFrames is open (its first frame sent) when SIGTERM arrives; the client
    then sends the rest: the call still gets the service's answer, and the process exits 0."""
    import threading
    import time
    import tomllib
    from collections.abc import Iterator

    import grpc

    from idverify.api.v1 import common_pb2, verification_pb2, verification_pb2_grpc
    from tests.shared_data import shared_path

    faces = shared_path("faces", "deepface-unit")
    server.start()
    md = [("x-api-key", tomllib.loads((server.data_dir / "dev-api-keys.toml").read_text())["app_backend"])]
    ctx = common_pb2.ApplicationContext(applicant_id="a-1", loan_application_id="L-1", locale="en",
                                        amount=common_pb2.Money(value="6000.00", currency="CNY"))
    outcome: list[object] = []
    first_sent, go_on = threading.Event(), threading.Event()
    with grpc.insecure_channel(server.address) as channel:
        stub = verification_pb2_grpc.VerificationServiceStub(channel)
        sid = stub.StartVerification(verification_pb2.StartVerificationRequest(
            context=ctx, phone_e164="+8613800138000", payout_account="6222-01"), metadata=md).verification.session_id
        challenge = stub.StartLivenessChallenge(verification_pb2.StartLivenessChallengeRequest(
            context=ctx, session_id=sid), metadata=md).challenge

        def frame_of(path: object) -> bytes:
            """The photo scaled to 640 px, within a liveness frame's pixel limit (docs/liveness.md)."""
            import cv2

            pixels = cv2.imread(str(path))
            scale = 640 / max(pixels.shape[:2])
            small = cv2.resize(pixels, (round(pixels.shape[1] * scale), round(pixels.shape[0] * scale)))
            return bytes(cv2.imencode(".jpg", small)[1].tobytes())

        def frames() -> Iterator[verification_pb2.SubmitLivenessFramesRequest]:
            for n, name in enumerate(("img35.jpg", "img36.jpg", "img37.jpg")):
                yield verification_pb2.SubmitLivenessFramesRequest(
                    context=ctx if n == 0 else None, session_id=sid, challenge_id=challenge.challenge_id,
                    nonce=challenge.nonce, captured_at_ms=1_761_000_000_000 + 900 * n, sequence=n,
                    image=frame_of(faces / name))
                if n == 0:
                    first_sent.set()
                    go_on.wait(30)

        def submit() -> None:
            try:
                outcome.append(stub.SubmitLivenessFrames(frames(), metadata=md, timeout=60))
            except grpc.RpcError as err:
                outcome.append(err.code())

        worker = threading.Thread(target=submit)
        worker.start()
        assert first_sent.wait(30)
        time.sleep(0.5)  # the handler is now waiting inside the call for the next frame
        assert server.process is not None
        server.process.send_signal(__import__("signal").SIGTERM)
        time.sleep(0.5)
        go_on.set()
        worker.join(60)
        assert server.process.wait(30) == 0
    answer = outcome[0]
    assert isinstance(answer, verification_pb2.SubmitLivenessFramesResponse), answer
    assert answer.result.factor == common_pb2.FACTOR_LIVENESS
