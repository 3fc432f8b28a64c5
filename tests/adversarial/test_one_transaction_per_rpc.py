"""Issue 12: each verification RPC reads, decides, writes and audits in exactly one database transaction.

A SQLAlchemy ``begin`` listener on the real server's engine counts the transactions opened on the RPC worker
threads while one RPC runs (the readiness probe and the outbox dispatcher run on threads of their own; the
interceptor's separate audit of refused calls is not exercised here)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
import pytest
from sqlalchemy import event

from idverify.api.v1 import verification_pb2
from tests.adversarial.conftest import Applicant, phone_for, replicas
from tests.transport.conftest import Running

V = verification_pb2


class TransactionCounter:
    def __init__(self, running: Running) -> None:
        self.count = 0
        self._lock = threading.Lock()
        self._engine = running.app.engine

    def _on_begin(self, conn: object) -> None:
        if threading.current_thread().name.startswith("rpc"):
            with self._lock:
                self.count += 1

    @contextmanager
    def listening(self) -> Iterator[None]:
        event.listen(self._engine, "begin", self._on_begin)
        try:
            yield
        finally:
            event.remove(self._engine, "begin", self._on_begin)

    def during(self, call: Callable[[], object]) -> int:
        """Transactions begun by ``call`` (its outcome, success or a refusal, does not matter here)."""
        before = self.count
        try:
            call()
        except grpc.RpcError:
            pass
        return self.count - before


@pytest.fixture
def app(tmp_path: Path, db_url: str) -> Iterator[Running]:
    with replicas(tmp_path, db_url, IDVERIFY_FACE="on", IDVERIFY_PAD="off") as (one,):
        yield one


def test_each_verification_rpc_runs_in_one_transaction(app: Running) -> None:
    who = Applicant(app, "counted", phone=phone_for(7))
    counter = TransactionCounter(app)
    counts: dict[str, int] = {}
    with counter.listening():
        counts["StartVerification"] = counter.during(who.start)
        counts["SendOtp"] = counter.during(who.send)
        counts["CheckOtp(wrong)"] = counter.during(lambda: who.check("000000" if who.code() != "000000" else "1" * 6))
        counts["CheckOtp(right)"] = counter.during(who.check)
        counts["GetVerification"] = counter.during(lambda: who.stub.GetVerification(
            V.GetVerificationRequest(context=who.context(), session_id=who.session_id), metadata=app.md()))
        counts["CompleteVerification"] = counter.during(who.complete)
        counts["RedeemToken"] = counter.during(who.redeem)
        counts["RedeemToken(retry)"] = counter.during(who.redeem)

    assert counts == dict.fromkeys(counts, 1)


def test_starting_a_challenge_and_submitting_its_frames_each_run_in_one_transaction(app: Running) -> None:
    counter = TransactionCounter(app)
    counts: dict[str, int] = {}
    with counter.listening():
        big = Applicant(app, "counted-liveness", amount="6000.00", phone=phone_for(8))
        big.start()
        start = V.StartLivenessChallengeRequest(context=big.context(), session_id=big.session_id)
        answers: list[V.StartLivenessChallengeResponse] = []
        counts["StartLivenessChallenge"] = counter.during(
            lambda: answers.append(big.stub.StartLivenessChallenge(start, metadata=app.md())))
        challenge = answers[0].challenge
        frames = [V.SubmitLivenessFramesRequest(context=big.context(), session_id=big.session_id,
                                                challenge_id=challenge.challenge_id, image=b"not an image",
                                                captured_at_ms=1000 * i) for i in range(3)]
        counts["SubmitLivenessFrames"] = counter.during(lambda: big.stub.SubmitLivenessFrames(
            iter(frames), metadata=app.md()))
        # An attestation to judge: the budget commits before the platform is asked, the challenge after (two).
        attested = V.StartLivenessChallengeRequest(context=big.context(), session_id=big.session_id,
                                                   attestation=V.PlatformAttestation(platform="app_attest",
                                                                                     token=b"opaque"))
        judged = counter.during(lambda: answers.append(big.stub.StartLivenessChallenge(attested, metadata=app.md())))
        big.stub.StartLivenessChallenge(start, metadata=app.md())  # the verification's third and last
        refused: list[grpc.StatusCode] = []

        def exhausted() -> None:
            try:
                big.stub.StartLivenessChallenge(start, metadata=app.md())
            except grpc.RpcError as err:
                refused.append(err.code())

        counts["StartLivenessChallenge(exhausted)"] = counter.during(exhausted)
        assert refused == [grpc.StatusCode.RESOURCE_EXHAUSTED]
        counts["CancelVerification"] = counter.during(lambda: big.stub.CancelVerification(
            V.CancelVerificationRequest(context=big.context(), session_id=big.session_id), metadata=app.md()))
    assert counts == dict.fromkeys(counts, 1)
    assert judged == 2
    assert len(answers) == 2


def test_a_redemption_and_its_audit_entry_commit_together_and_verify(app: Running) -> None:
    """The usual redemption writes its audit entry in the redemption's own statement on PostgreSQL (a second
    statement on SQLite): exactly one 'ok' entry for the first redemption and one 'repeated' for the caller's retry
    (where the one-statement path matched nothing, so it inserted nothing), and the trail verifies under its key."""
    from sqlalchemy import select

    from idverify.app import audit_tools
    from idverify.storage.tables_audit import audit_entries as A

    who = Applicant(app, "audited-redeem", phone=phone_for(9))
    who.start()
    who.send()
    who.check()
    who.complete()
    first = who.redeem()
    again = who.redeem()
    assert again.redemption_id == first.redemption_id
    with app.app.engine.connect() as conn:
        rows = conn.execute(select(A.c.outcome, A.c.details, A.c.object_id).where(A.c.action == "token.redeemed")
                            .order_by(A.c.seq)).all()
    assert [r.outcome for r in rows] == ["ok", "repeated"]
    assert all(first.redemption_id in r.details and r.object_id == first.token_id for r in rows)
    log, sealer, engine, public_keys = audit_tools(app.app.settings)
    sealer.drain()
    report = log.verify(engine, public_keys)
    engine.dispose()
    assert report.ok, report.detail
