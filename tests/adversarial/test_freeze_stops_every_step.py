"""Issue 11.1: once a report ("I never applied") or a freeze commits, no verification of that identity records a
passing factor, completes, issues a token or redeems one, whatever state it was in.

Over gRPC against the real server, on SQLite and on PostgreSQL: the report (or a consumer freeze) lands between
every pair of steps of the SMS path, then every remaining step is tried and must be refused. Two replicas on one
database race a completion and redemption against a report.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest

from idverify.api.v1 import verification_pb2
from tests.adversarial.conftest import Applicant, phone_for, refusal, replicas
from tests.transport.conftest import Running
from tests.transport.test_server import reason_of

V = verification_pb2
STEPS = ("start", "send", "check", "complete", "redeem")
#: What a step may answer once the identity is frozen: the freeze itself, the session it failed, or (for a token
#: the report revoked) the revocation; with no token issued, redeeming has nothing to send (token_missing).
STOPPED = {"identity_frozen", "session_failed", "token_revoked", "token_missing"}


def run_step(who: Applicant, step: str) -> object:
    actions: dict[str, Callable[[], object]] = {
        "start": who.start, "send": who.send, "check": who.check, "complete": who.complete, "redeem": who.redeem,
    }
    return actions[step]()


@pytest.mark.parametrize("how", ["report", "freeze"])
@pytest.mark.parametrize("done", range(len(STEPS)), ids=[f"before_{s}" for s in STEPS])
def test_a_freeze_landing_between_any_two_steps_stops_every_later_step(server: Running, how: str,
                                                                       done: int) -> None:
    if how == "report" and done == 0:
        pytest.skip("a report names a verification; before the first step only a freeze can land")
    who = Applicant(server, f"victim-{how}-{done}", phone=phone_for(done + (10 if how == "report" else 0)))
    for step in STEPS[:done]:
        run_step(who, step)
    if how == "report":
        who.report()
    else:
        who.freeze()

    # With no verification opened, the later steps have nothing to act on: the refused start is the whole story.
    later = STEPS[done:] if done > 0 else STEPS[:1]
    reasons = [refusal(run_step, who, step) for step in later]

    first = STEPS[done]
    expected_first = "token_revoked" if (first == "redeem" and how == "report") else "identity_frozen"
    assert reasons[0] == expected_first, reasons
    assert set(reasons) <= STOPPED, reasons
    if 0 < done < STEPS.index("complete") + 1:
        seen = who.stub.GetVerification(V.GetVerificationRequest(context=who.context(), session_id=who.session_id),
                                        metadata=server.md()).verification
        assert seen.status == V.VERIFICATION_STATUS_FAILED
        assert seen.reason_code == "identity_frozen"


def test_a_token_issued_before_a_consumer_freeze_is_refused_and_stays_redeemable_after_unfreeze_only(
        server: Running) -> None:
    """A freeze does not revoke (unlike a report), so the redemption itself must look: refused while frozen."""
    who = Applicant(server, "frozen-later", phone=phone_for(40))
    who.start()
    who.send()
    who.check()
    who.complete()
    who.freeze()
    assert refusal(who.redeem) == "identity_frozen"
    assert refusal(who.redeem) == "identity_frozen"  # a retry learns the same


def test_two_replicas_racing_completion_and_redemption_against_a_report(tmp_path: Path, db_url: str) -> None:
    """Replica A completes and redeems while replica B takes the report. Whatever the interleaving, a redemption
    sent after the report was answered never succeeds, and a retry after both sees no success it did not have."""
    violations: list[str] = []
    with replicas(tmp_path, db_url, count=2) as (a, b):
        for trial in range(6):
            on_a = Applicant(a, f"race-{trial}", phone=phone_for(100 + trial), device_id=f"dev-race-{trial}",
                             client_ip=f"198.51.100.{trial + 10}")
            on_a.start()
            on_a.send()
            on_a.check()
            on_b = on_a.on(b)
            barrier = threading.Barrier(2)
            marks: dict[str, float] = {}
            outcome: dict[str, str] = {}

            def complete_and_redeem(who: Applicant = on_a, marks: dict[str, float] = marks,
                                    outcome: dict[str, str] = outcome, barrier: threading.Barrier = barrier) -> None:
                barrier.wait()
                try:
                    who.complete()
                except grpc.RpcError as err:
                    outcome["complete"] = reason_of(err)
                    return
                marks["redeem_sent"] = time.monotonic()
                try:
                    who.redeem()
                    outcome["redeem"] = "ok"
                except grpc.RpcError as err:
                    outcome["redeem"] = reason_of(err)

            def report(who: Applicant = on_b, marks: dict[str, float] = marks,
                       barrier: threading.Barrier = barrier) -> None:
                barrier.wait()
                who.report()
                marks["report_answered"] = time.monotonic()

            threads = [threading.Thread(target=complete_and_redeem), threading.Thread(target=report)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
            if outcome.get("redeem") == "ok" and marks["report_answered"] < marks["redeem_sent"]:
                violations.append(f"trial {trial}: redeemed after the report was answered")
            if "complete" in outcome:
                assert outcome["complete"] in STOPPED, outcome
            elif outcome.get("redeem") != "ok":
                assert outcome["redeem"] in STOPPED, outcome
            # Afterwards, on either replica, the token can no longer be redeemed by anyone.
            if on_a.token and outcome.get("redeem") != "ok":
                assert refusal(on_b.on(b).redeem, on_a.token) in STOPPED
    assert not violations, violations
