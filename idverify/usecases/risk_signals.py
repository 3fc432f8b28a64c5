"""Risk signals that the verification use cases add themselves: an unregistered device and a recent SIM swap."""

from __future__ import annotations

from dataclasses import replace

from idverify.domain.session import RiskAssessment

#: Added to the risk score of a verification from a device the person did not register.
UNREGISTERED_DEVICE_SCORE = 30
#: Added when a carrier reports the phone's SIM swapped or the number ported recently.
SIM_SWAP_SCORE = 30


def with_device_risk(assessment: RiskAssessment, *, unregistered: bool, sim_swap: str) -> RiskAssessment:
    """``assessment`` with the device and phone evidence in its score and reasons (``sim_swap``: who reported a
    recent swap, "" for nobody). The lender's own report of a changed phone is already a policy input."""
    score, reasons = assessment.score, list(assessment.reason_codes)
    if unregistered:
        score += UNREGISTERED_DEVICE_SCORE
        reasons.append("unregistered_device")
    if sim_swap:
        score += SIM_SWAP_SCORE
        reasons.append("sim_swap_recent")
    if score == assessment.score:
        return assessment
    return replace(assessment, score=min(100, score), reason_codes=tuple(dict.fromkeys(reasons)))
