"""Risk: pure rules and policy over counts from a shared SQL signal store; alerts queued through the outbox."""

from idverify.risk.alerts import Alert, AlertSink, LogAlertSink
from idverify.risk.engine import FreezeLookup, RiskEngine
from idverify.risk.model import RiskDecision, RiskEvent, RuleHit, Signals, Subject
from idverify.risk.rules import (
    FailedFactorsRule,
    FrozenIdentityRule,
    IdentitySpreadRule,
    NewDeviceRule,
    NightBurstRule,
    RiskPolicy,
    RiskRules,
    SharedDeviceRule,
    SimSwapRule,
    assess,
)
from idverify.risk.store import SqlSignalStore
from idverify.risk.subject import subject_from_identifiers

__all__ = [
    "Alert",
    "AlertSink",
    "FailedFactorsRule",
    "FreezeLookup",
    "FrozenIdentityRule",
    "IdentitySpreadRule",
    "LogAlertSink",
    "NewDeviceRule",
    "NightBurstRule",
    "RiskDecision",
    "RiskEngine",
    "RiskEvent",
    "RiskPolicy",
    "RiskRules",
    "RuleHit",
    "SharedDeviceRule",
    "Signals",
    "SimSwapRule",
    "SqlSignalStore",
    "Subject",
    "assess",
    "subject_from_identifiers",
]
