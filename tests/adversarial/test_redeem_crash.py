"""Issue 11.4: a redemption whose answer was lost can be retried. The real ``idverify serve`` process is killed
with SIGKILL at random moments while 16 loan-service clients redeem tokens at once; after each restart every client
that got no answer retries. Every token ends redeemed exactly once (one redemption id, whoever asks) or still
redeemable; a client that was answered gets the same redemption back on retry; another lender is refused."""

from __future__ import annotations

import hashlib
import json
import random
import re
import secrets
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest

from idverify.api.v1 import common_pb2, token_pb2, token_pb2_grpc, verification_pb2, verification_pb2_grpc
from tests.e2e.conftest import Server, written_lines
from tests.transport.test_server import reason_of

V = verification_pb2
pytestmark = pytest.mark.slow
TOKENS = 64
CLIENTS = 16
CRASHES = 4


@dataclass
class Keys:
    app: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    lender: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    other_lender: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    def env(self) -> str:
        def entry(caller: str, role: str, key: str) -> str:
            return f"{caller}:{role}:{hashlib.sha256(key.encode()).hexdigest()}"

        return ",".join([entry("app", "app_backend", self.app), entry("lender", "loan_service", self.lender),
                         entry("other-lender", "loan_service", self.other_lender)])


@pytest.fixture
def server(tmp_path: Path, db_url: str) -> Iterator[tuple[Server, Keys]]:
    keys = Keys()
    srv = Server(tmp_path, env={"IDVERIFY_DATABASE_URL": db_url, "IDVERIFY_FACE": "off",
                                "IDVERIFY_DOCUMENTS": "off", "IDVERIFY_API_KEYS": keys.env(),
                                "IDVERIFY_LOG_LEVEL": "WARNING"})
    try:
        yield srv, keys
    finally:
        if srv.process is not None and srv.process.poll() is None:
            srv.process.kill()
            srv.process.wait(10)


def issue_tokens(srv: Server, keys: Keys, count: int) -> list[str]:
    """``count`` completed SMS verifications (8 at a time), each with its own phone, device and IP."""
    with grpc.insecure_channel(srv.address) as channel, ThreadPoolExecutor(8) as pool:
        stub = verification_pb2_grpc.VerificationServiceStub(channel)
        md = [("x-api-key", keys.app)]

        def one(n: int) -> str:
            ctx = common_pb2.ApplicationContext(
                applicant_id=f"acct-{n}", loan_application_id=f"L-{n}",
                amount=common_pb2.Money(value="1000.00", currency="CNY"), device_id=f"dev-{n}",
                client_ip=f"198.51.{n // 200}.{n % 200 + 1}", locale="en")
            phone = f"+86139{n:04d}{n:04d}"  # distinct 10-digit prefixes: the pumping guard counts by prefix
            sid = stub.StartVerification(V.StartVerificationRequest(context=ctx, phone_e164=phone,
                                                                    payout_account="6222-01"),
                                         metadata=md).verification.session_id
            stub.SendOtp(V.SendOtpRequest(context=ctx, session_id=sid), metadata=md)
            code = wait_for_code(srv, phone)
            stub.CheckOtp(V.CheckOtpRequest(context=ctx, session_id=sid, code=code, channel=V.OTP_CHANNEL_SMS),
                          metadata=md)
            return stub.CompleteVerification(V.CompleteVerificationRequest(context=ctx, session_id=sid),
                                             metadata=md).token

        return list(pool.map(one, range(count)))


def wait_for_code(srv: Server, phone: str, timeout_s: float = 10.0) -> str:
    path = srv.data_dir / "sms-outbox.jsonl"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for line in reversed(written_lines(path)):
            text = json.loads(line)
            if text["to"] == phone and (match := re.search(r"\b(\d{6})\b", text["body"])):
                return match.group(1)
        time.sleep(0.02)
    raise AssertionError("no code was texted")


def redeem(address: str, key: str, token: str, n: int, channel: grpc.Channel | None = None
           ) -> token_pb2.RedeemTokenResponse:
    if channel is None:
        with grpc.insecure_channel(address) as own:
            return redeem(address, key, token, n, own)
    return token_pb2_grpc.TokenServiceStub(channel).RedeemToken(token_pb2.RedeemTokenRequest(
        token=token, loan_application_id=f"L-{n}", amount=common_pb2.Money(value="1000.00", currency="CNY"),
        payout_account="6222-01"), metadata=[("x-api-key", key)], timeout=10)


def test_killed_mid_redemption_every_retry_learns_the_truth(server: tuple[Server, Keys]) -> None:
    srv, keys = server
    srv.start()
    tokens = issue_tokens(srv, keys, TOKENS)
    answered: dict[int, str] = {}  # token index -> redemption id the lender was told
    unanswered: dict[int, grpc.StatusCode] = {}  # token index -> what the lender got instead of an answer
    rng = random.Random(11)
    waiting = list(range(TOKENS))
    lock = threading.Lock()
    kills = 0
    while waiting and (kills < CRASHES or not unanswered) and kills < 2 * CRASHES:
        kills += 1
        barrier = threading.Barrier(CLIENTS + 1)
        queue = list(waiting)

        def client(queue: list[int] = queue, barrier: threading.Barrier = barrier) -> None:
            with grpc.insecure_channel(srv.address) as channel:
                grpc.channel_ready_future(channel).result(timeout=10)
                barrier.wait()
                redeem_until_gone(queue, channel)

        def redeem_until_gone(queue: list[int], channel: grpc.Channel) -> None:
            while True:
                with lock:
                    if not queue:
                        return
                    n = queue.pop()
                try:
                    done = redeem(srv.address, keys.lender, tokens[n], n, channel)
                except grpc.RpcError as err:
                    with lock:
                        unanswered[n] = err.code()
                    return  # the server is gone: this client waits for the restart
                with lock:
                    answered[n] = done.redemption_id

        with ThreadPoolExecutor(CLIENTS) as pool:
            futures = [pool.submit(client) for _ in range(CLIENTS)]
            barrier.wait()  # 16 clients redeem the remaining tokens as fast as they can; the kill lands among them
            time.sleep(rng.uniform(0.003, 0.02))
            srv.kill()
            for f in futures:
                f.result()
        waiting = [n for n in range(TOKENS) if n not in answered and n not in unanswered]
        srv.start()  # restart on the same database

    lost = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED, grpc.StatusCode.UNKNOWN}
    assert set(unanswered.values()) <= lost, unanswered
    assert unanswered, "the kill never landed while redemptions were in flight"
    restarted = time.time()
    lost_answers = 0  # committed before the kill, answer never received: the case 11.4 is about
    for n in range(TOKENS):
        retry = redeem(srv.address, keys.lender, tokens[n], n)
        if n in unanswered and retry.redeemed_at.ToSeconds() < restarted - 1:
            lost_answers += 1
        if n in answered:
            assert retry.redemption_id == answered[n], "a retry must return the redemption the lender was told"
        answered.setdefault(n, retry.redemption_id)
        again = redeem(srv.address, keys.lender, tokens[n], n)
        assert again.redemption_id == retry.redemption_id
        with pytest.raises(grpc.RpcError) as other:
            redeem(srv.address, keys.other_lender, tokens[n], n)
        assert reason_of(other.value) == "token_redeemed"
    print(f"\n{TOKENS} tokens, {len(unanswered)} unanswered at a kill, {lost_answers} of them committed before it")


def test_an_answer_lost_to_a_client_deadline_is_learnt_by_the_retry(server: tuple[Server, Keys]) -> None:
    """The lender gives up before the answer arrives (the redemption still commits): its retry gets that same
    redemption, whatever its own clock says, and another lender is refused."""
    srv, keys = server
    srv.start()
    tokens = issue_tokens(srv, keys, 8)
    committed_unseen = 0
    with grpc.insecure_channel(srv.address) as channel:
        stub = token_pb2_grpc.TokenServiceStub(channel)
        for n, token in enumerate(tokens):
            request = token_pb2.RedeemTokenRequest(
                token=token, loan_application_id=f"L-{n}", amount=common_pb2.Money(value="1000.00", currency="CNY"),
                payout_account="6222-01")
            try:
                stub.RedeemToken(request, metadata=[("x-api-key", keys.lender)], timeout=0.0005)
                continue  # answered within the deadline: nothing lost
            except grpc.RpcError as err:
                gave_up = err.code()
            assert gave_up is grpc.StatusCode.DEADLINE_EXCEEDED
            time.sleep(0.2)  # the server finishes what it started
            retry = redeem(srv.address, keys.lender, token, n)
            again = redeem(srv.address, keys.lender, token, n)
            assert again.redemption_id == retry.redemption_id
            if retry.redeemed_at.ToMilliseconds() < (time.time() - 0.15) * 1000:
                committed_unseen += 1
            with pytest.raises(grpc.RpcError) as other:
                redeem(srv.address, keys.other_lender, token, n)
            assert reason_of(other.value) == "token_redeemed"
    print(f"\n{committed_unseen} of 8 redemptions committed after their client had given up")
