"""Issue 11.5: the guessing budget holds per phone, device and IP, across applicant ids.

39 applicant ids share one phone, one device and one IP and guess wrong codes as fast as the service lets them,
waiting out every temporary lock, for as long as it takes. The phone receives at most 100 wrong guesses in total
(NIST SP 800-63B's 100 consecutive failures), then nothing until a person acts; the first day allows far fewer.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from idverify.domain.errors import FailedPrecondition, ResourceExhausted
from idverify.factors.otp import OtpContext, OtpIncorrect
from tests.unit.otp.test_otp_service import World, ctx

APPLICANTS = 39


def guess_until_locked(world: World, contexts: list[OtpContext], *, days: int) -> tuple[int, dict[int, int], str]:
    """Wrong guesses answered ``otp_incorrect``, per simulated day, and the last refusal's reason."""
    start = world.clock.now()
    per_day: dict[int, int] = {}
    reason = ""
    i = 0
    while world.clock.now() - start < timedelta(days=days):
        c = contexts[i % len(contexts)]
        i += 1
        try:
            world.service.send(c)
        except ResourceExhausted as err:
            reason = err.code
            if err.retry_after_s is None:
                break  # locked for good: only an operator can act
            world.clock.advance(err.retry_after_s)
            continue
        for _ in range(5):
            try:
                world.service.check(c, "000000" if world.sender.last_code() != "000000" else "111111")
            except OtpIncorrect:
                day = (world.clock.now() - start).days
                per_day[day] = per_day.get(day, 0) + 1
            except ResourceExhausted as err:
                reason = err.code
                if err.retry_after_s is None:
                    return sum(per_day.values()), per_day, reason
                world.clock.advance(err.retry_after_s)
                break
            except FailedPrecondition:
                break
        world.clock.advance(31)  # past the resend cool-down
    return sum(per_day.values()), per_day, reason


def spread(n: int, **shared: str) -> list[OtpContext]:
    return [dataclasses.replace(ctx(f"s-{k}"), applicant_id=f"mule-{k}", **shared) for k in range(n)]  # type: ignore[arg-type]


def test_many_applicant_ids_on_one_phone_device_and_ip_share_one_budget_of_100() -> None:
    world = World()
    total, per_day, reason = guess_until_locked(world, spread(APPLICANTS), days=60)
    assert total == 100
    assert reason == "otp_locked_permanently"
    assert per_day[0] <= 40, per_day  # growing waits: the first day allows about a third of the budget


@pytest.mark.parametrize("shared", ["device_id", "client_ip"])
def test_the_device_or_the_ip_alone_also_caps_guesses_across_phones(shared: str) -> None:
    """Different phones (so the per-phone budget does not bind), one device or one IP."""
    world = World()
    contexts = [dataclasses.replace(c, phone_e164=f"+86139{k:08d}",
                                    device_id=c.device_id if shared == "device_id" else f"dev-{k}",
                                    client_ip=c.client_ip if shared == "client_ip" else f"198.51.100.{k}")
                for k, c in enumerate(spread(APPLICANTS))]
    total, _, reason = guess_until_locked(world, contexts, days=60)
    assert total == 100
    assert reason == "otp_locked_permanently"


def test_a_correct_code_on_the_phone_clears_the_phone_device_and_ip_but_not_the_other_applicant() -> None:
    world = World()
    mule = spread(1)[0]
    world.service.send(mule)
    for _ in range(3):
        with pytest.raises(OtpIncorrect):
            world.service.check(mule, "000000" if world.sender.last_code() != "000000" else "111111")
    holder = dataclasses.replace(ctx("s-holder"), applicant_id="holder")
    world.clock.advance(31)
    world.service.send(holder)
    world.service.check(holder, world.sender.last_code())
    failures = {subject.split(":")[0] + (":" + subject.split(":")[1] if subject.startswith("applicant") else ""):
                state.failures for subject, state in world.counters.lockouts.items()}
    assert failures == {"applicant:mule-0": 3, "applicant:holder": 0, "phone": 0, "device": 0, "ip": 0}
