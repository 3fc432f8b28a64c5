"""Which assurance a verification reached, decided from the factors that passed. Pure: standard library and the
domain only.

The ``acr`` levels are idverify's own; their names echo eIDAS (low / substantial / high) to suggest an order, not
a certification. They are graded against "loans in my name": a fraudster who holds the victim's ID number, name and
photographs, and sometimes a SIM-swapped phone.

* ``urn:idverify:acr:low`` - at least one factor passed, but not the combination below: possession alone
  (SMS or TOTP), a document check alone, or a face match without liveness evidence.
* ``urn:idverify:acr:substantial`` - a face match (against the document photo or an enrolled face) backed by the
  liveness factor, AND a possession factor (SMS OTP or TOTP).
* ``urn:idverify:acr:high`` - substantial, with passive presentation-attack detection having run inside the
  liveness factor, plus a document check; and, when the caller states the liveness evidence (the server always
  does), a *strong* liveness: one continuous capture, the screen-colour challenge, and frames signed by a
  per-capture key or an app attested by its platform (docs/liveness.md, section 7).

``amr`` holds RFC 8176 values for what ran and passed: ``face`` (a face match), ``sms`` (SMS one-time code),
``otp`` (TOTP app code), ``hwk`` (a registered device key, held in the phone's hardware where it has it, signed
the verification's nonce), ``mfa`` (see below), and the private value ``doc`` (an identity document was checked: a
Chinese ID number or an MRZ; RFC 8176 registers nothing for this). Liveness has no RFC 8176 value; a liveness
challenge without a face match says nothing about *who* is there, so it adds no ``amr`` value and shows only in
``acr``. When a face match and liveness passed and the liveness frames were signed by the capture page's
per-capture key, ``swk`` (proof of possession of a software-secured key) is added.

``mfa`` means two independent categories: inherence (a face match backed by liveness) and possession (SMS or
TOTP). A document check is not counted: ID data is exactly what this fraudster already holds. SMS plus TOTP is two
possession factors, not ``mfa``.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from idverify.domain.errors import FailedPrecondition
from idverify.domain.values import Factor
from idverify.factors.liveness import strong_liveness

ACR_LOW: Final = "urn:idverify:acr:low"
ACR_SUBSTANTIAL: Final = "urn:idverify:acr:substantial"
ACR_HIGH: Final = "urn:idverify:acr:high"
#: Lowest first.
ACR_ORDER: Final = (ACR_LOW, ACR_SUBSTANTIAL, ACR_HIGH)

_ALL_FACTORS: Final = frozenset(Factor)
_FACE_MATCH: Final = frozenset({Factor.FACE_MATCH_DOCUMENT, Factor.FACE_MATCH_ENROLLED})
_POSSESSION: Final = frozenset({Factor.SMS_OTP, Factor.TOTP, Factor.DEVICE_KEY})
_AMR_OF: Final = {
    Factor.FACE_MATCH_DOCUMENT: "face",
    Factor.FACE_MATCH_ENROLLED: "face",
    Factor.SMS_OTP: "sms",
    Factor.TOTP: "otp",
    Factor.DOCUMENT: "doc",
    Factor.DEVICE_KEY: "hwk",
}


@dataclass(frozen=True)
class Assurance:
    """The ``acr`` and ``amr`` claims of a token."""

    acr: str
    amr: tuple[str, ...]


def decide_assurance(passed: Collection[Factor | str], *, pad_ran: bool,
                     liveness_evidence: Collection[str] | None = None) -> Assurance:
    """The assurance reached by the factors in ``passed`` (``Factor`` members or their values).

    ``pad_ran``: passive presentation-attack detection ran on the liveness frames and the liveness factor passed
    with it; it counts only together with ``Factor.LIVENESS``. ``liveness_evidence``: what the passed liveness
    carried (``LivenessResult.evidence``); None when the caller does not state it (then only ``pad_ran`` counts).

    Raises ``FailedPrecondition("no_factor_passed")`` when no identifying factor passed (liveness alone does not
    identify anyone), and ``ValueError`` for a string that is not a ``Factor`` value.
    """
    # Members equal to Factor values (Factor is a StrEnum, so its values too) are looked up as they are: the same
    # hash and equality as the members, so the same cache entry and the same answer, without a Factor() call each.
    try:
        factors = passed if type(passed) is frozenset else frozenset(passed)
        known = factors <= _ALL_FACTORS
    except TypeError:  # an unhashable member: Factor() refuses it with ValueError below
        known = False
    if not known:
        factors = frozenset(Factor(f) for f in passed)
    evidence = None if liveness_evidence is None else frozenset(liveness_evidence)
    return _decide(factors, pad_ran, evidence)


@lru_cache(maxsize=512)  # a handful of factor combinations recur; every token issue asks (bench/bench_tokens.py)
def _decide(factors: frozenset[Factor], pad_ran: bool, evidence: frozenset[str] | None) -> Assurance:
    amr = {_AMR_OF[f] for f in factors if f in _AMR_OF}
    if not amr:
        raise FailedPrecondition("no_factor_passed", "no identifying verification factor passed")
    liveness = Factor.LIVENESS in factors
    inherence = bool(factors & _FACE_MATCH) and liveness
    possession = bool(factors & _POSSESSION)
    if not (inherence and possession):
        return Assurance(ACR_LOW, tuple(sorted(amr)))
    amr.add("mfa")
    if evidence is not None and "capture_key" in evidence:
        amr.add("swk")
    high = pad_ran and Factor.DOCUMENT in factors and (evidence is None or strong_liveness(evidence))
    return Assurance(ACR_HIGH if high else ACR_SUBSTANTIAL, tuple(sorted(amr)))


def meets(acr: str, minimum: str) -> bool:
    """Whether level ``acr`` is at least ``minimum``. Raises ``ValueError`` for a level not defined here."""
    return ACR_ORDER.index(acr) >= ACR_ORDER.index(minimum)
