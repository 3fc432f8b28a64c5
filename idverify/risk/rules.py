"""The risk rules, each a frozen dataclass of its thresholds, and the policy that turns scores into outcomes.

Standard library only. Every rule returns the hits it produces from :class:`~idverify.risk.model.Signals`;
docs/risk-rules.md lists every rule, its default threshold, score and effect. Factor names follow the contract's
``Factor`` enum in lower case: "sms_otp", "totp", "document", "liveness", "face_match_document",
"face_match_enrolled".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta, tzinfo
from zoneinfo import ZoneInfo

from idverify.risk.model import RiskDecision, RuleHit, Signals

FACE = ("liveness", "face_match_document")


@dataclass(frozen=True, slots=True)
class IdentitySpreadRule:
    """One ID number (blind index) seen with many phones or devices: stolen identity data used at scale."""

    window: timedelta = timedelta(days=7)
    max_phones: int = 2
    max_devices: int = 3
    phones_score: int = 40
    devices_score: int = 30

    def evaluate(self, s: Signals) -> Iterable[RuleHit]:
        if s.phones_per_identity > self.max_phones:
            yield RuleHit("identity_many_phones", self.phones_score, FACE)
        if s.devices_per_identity > self.max_devices:
            yield RuleHit("identity_many_devices", self.devices_score, FACE)


@dataclass(frozen=True, slots=True)
class SharedDeviceRule:
    """One device or IP address used for many identities: an application farm."""

    device_window: timedelta = timedelta(hours=24)
    max_identities_per_device: int = 2
    device_score: int = 50
    ip_window: timedelta = timedelta(hours=1)
    max_identities_per_ip: int = 5
    ip_score: int = 30

    def evaluate(self, s: Signals) -> Iterable[RuleHit]:
        if s.identities_per_device > self.max_identities_per_device:
            yield RuleHit("device_many_identities", self.device_score, FACE)
        if s.identities_per_ip > self.max_identities_per_ip:
            yield RuleHit("ip_many_identities", self.ip_score, FACE)


@dataclass(frozen=True, slots=True)
class FailedFactorsRule:
    """Many failed factors for one applicant: guessing codes or trying faces."""

    window: timedelta = timedelta(hours=24)
    max_failures: int = 3
    score: int = 30

    def evaluate(self, s: Signals) -> Iterable[RuleHit]:
        if s.failed_factors > self.max_failures:
            yield RuleHit("many_failed_factors", self.score, ("document", *FACE))


@dataclass(frozen=True, slots=True)
class NewDeviceRule:
    """A device never seen with an account that has verified before: account takeover."""

    score: int = 20

    def evaluate(self, s: Signals) -> Iterable[RuleHit]:
        if s.known_account and not s.device_seen_for_account:
            yield RuleHit("new_device_known_account", self.score, FACE)


@dataclass(frozen=True, slots=True)
class SimSwapRule:
    """The lender says the phone number was recently changed or ported: SMS codes may reach an attacker, so the
    step-up asks for factors that do not travel over SMS."""

    score: int = 40

    def evaluate(self, s: Signals) -> Iterable[RuleHit]:
        if s.phone_recently_changed:
            yield RuleHit("phone_recently_changed", self.score, ("document", *FACE))


@dataclass(frozen=True, slots=True)
class NightBurstRule:
    """Many starts for one tenant within minutes at night (local time): scripted mass applications."""

    start_hour: int = 0
    end_hour: int = 5
    tz: tzinfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    window: timedelta = timedelta(minutes=10)
    max_starts: int = 5
    score: int = 30

    def evaluate(self, s: Signals) -> Iterable[RuleHit]:
        hour = s.at.astimezone(self.tz).hour
        at_night = self.start_hour <= hour < self.end_hour
        if at_night and s.tenant_starts_in_burst_window > self.max_starts:
            yield RuleHit("night_burst", self.score, FACE)


@dataclass(frozen=True, slots=True)
class FrozenIdentityRule:
    """The applicant or identity is frozen (the victim said "this was not me"): refused, whatever the score."""

    def evaluate(self, s: Signals) -> Iterable[RuleHit]:
        if s.frozen:
            yield RuleHit("identity_frozen", 100, hard_refusal=True)


@dataclass(frozen=True, slots=True)
class RiskRules:
    """Every rule's configuration. Replace one with ``dataclasses.replace(rules, sim_swap=SimSwapRule(60))``."""

    identity_spread: IdentitySpreadRule = IdentitySpreadRule()
    shared_device: SharedDeviceRule = SharedDeviceRule()
    failed_factors: FailedFactorsRule = FailedFactorsRule()
    new_device: NewDeviceRule = NewDeviceRule()
    sim_swap: SimSwapRule = SimSwapRule()
    night_burst: NightBurstRule = field(default_factory=NightBurstRule)
    frozen: FrozenIdentityRule = FrozenIdentityRule()

    def evaluate(self, s: Signals) -> tuple[RuleHit, ...]:
        rules = (
            self.frozen, self.identity_spread, self.shared_device, self.failed_factors,
            self.new_device, self.sim_swap, self.night_burst,
        )  # fmt: skip
        return tuple(hit for rule in rules for hit in rule.evaluate(s))


@dataclass(frozen=True, slots=True)
class RiskPolicy:
    """Total score (capped at 100) to outcome: below ``step_up_at`` allow; then step_up; from ``review_at``
    review; from ``refuse_at`` refuse. A hard-refusal hit refuses at any score. Step-up factors are the union
    of ``base_step_up`` and what the firing rules ask for, in a stable order."""

    step_up_at: int = 20
    review_at: int = 60
    refuse_at: int = 90
    base_step_up: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not 0 < self.step_up_at <= self.review_at <= self.refuse_at <= 100:
            raise ValueError("risk thresholds must satisfy 0 < step_up_at <= review_at <= refuse_at <= 100")

    def decide(self, hits: tuple[RuleHit, ...]) -> RiskDecision:
        score = min(100, sum(h.score for h in hits))
        codes = tuple(dict.fromkeys(h.code for h in hits))
        if any(h.hard_refusal for h in hits) or score >= self.refuse_at:
            return RiskDecision("refuse", score, codes, hits=hits)
        if score >= self.review_at:
            return RiskDecision("review", score, codes, hits=hits)
        if score >= self.step_up_at:
            factors = tuple(dict.fromkeys([*self.base_step_up, *(f for h in hits for f in h.step_up)]))
            return RiskDecision("step_up", score, codes, factors or FACE, hits=hits)
        return RiskDecision("allow", score, codes, hits=hits)


def assess(signals: Signals, rules: RiskRules, policy: RiskPolicy) -> RiskDecision:
    """Evaluate every rule on ``signals`` and decide."""
    return policy.decide(rules.evaluate(signals))
