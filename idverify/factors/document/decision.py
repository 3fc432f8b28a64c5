"""The document decision: every check for one document, and pass / fail / review.

``evaluate_document`` never raises for bad document content: an impossible number, a broken MRZ, an expired card
or a date like 1990-02-30 each become a failed check with its reason code. Decision: ``fail`` when any check of
severity ``fail`` failed, else ``review`` when any check failed, else ``pass``; a document that yields no checks
at all is ``review``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from idverify.domain.errors import InvalidArgument
from idverify.factors.document import consistency as c
from idverify.factors.document.cn_id import (
    CnIdNumber,
    CnIdPolicy,
    Sex,
    check_age,
    parse_cn_id_number,
)
from idverify.factors.document.consistency import Check, Severity
from idverify.factors.document.countries import SPECIMEN_STATES
from idverify.factors.document.fields import (
    AccountHolder,
    ApplicantClaims,
    CnIdCardText,
    DocumentFields,
    DocumentType,
)
from idverify.factors.document.mrz import Mrz, parse_mrz
from idverify.factors.document.names import Romanizer

_MRZ_CODES = {DocumentType.PASSPORT: "P", DocumentType.ID_CARD_MRZ: "IAC"}


class Outcome(StrEnum):
    PASS = "pass"  # noqa: S105 - an outcome, not a password
    FAIL = "fail"
    REVIEW = "review"


@dataclass(frozen=True, slots=True)
class DocumentPolicy:
    """A lender's choices. ``require_expiry``: a PRC card without its back (validity) goes to review."""

    id_number: CnIdPolicy = field(default_factory=CnIdPolicy)
    require_expiry: bool = True
    allow_specimen: bool = False


@dataclass(frozen=True, slots=True)
class DocumentDecision:
    outcome: Outcome
    checks: tuple[Check, ...]
    id_number: CnIdNumber | None = None
    mrz: Mrz | None = None

    @property
    def reason_codes(self) -> tuple[str, ...]:
        """Reason codes of the failed checks, in check order."""
        return tuple(ch.reason_code for ch in self.checks if not ch.passed and ch.reason_code)


def evaluate_document(
    fields: DocumentFields,
    *,
    application_date: date,
    claims: ApplicantClaims | None = None,
    holder: AccountHolder | None = None,
    policy: DocumentPolicy | None = None,
    romanizer: Romanizer | None = None,
) -> DocumentDecision:
    """Run every applicable check on one document and decide. Pure: no I/O, no clock (``application_date``)."""
    policy = policy or DocumentPolicy()
    claims = claims or ApplicantClaims()
    holder = holder or AccountHolder()
    if fields.document_type is DocumentType.CN_ID_CARD:
        checks, parsed = _cn_id_checks(fields.cn_id or CnIdCardText(), application_date, claims, holder, policy)
        return _decide(checks, id_number=parsed)
    checks, mrz = _mrz_checks(
        fields, on=application_date, claims=claims, holder=holder, policy=policy, romanizer=romanizer
    )
    return _decide(checks, mrz=mrz)


def _decide(checks: list[Check], *, id_number: CnIdNumber | None = None, mrz: Mrz | None = None) -> DocumentDecision:
    failed = [ch for ch in checks if not ch.passed]
    if any(ch.severity is Severity.FAIL for ch in failed):
        outcome = Outcome.FAIL
    elif failed or not checks:
        outcome = Outcome.REVIEW
    else:
        outcome = Outcome.PASS
    return DocumentDecision(outcome, tuple(checks), id_number, mrz)


def _missing(field_name: str) -> Check:
    return c.failed(f"{field_name}_read", f"document_field_missing_{field_name}", Severity.REVIEW)


def _cn_id_checks(
    card: CnIdCardText,
    on: date,
    claims: ApplicantClaims,
    holder: AccountHolder,
    policy: DocumentPolicy,
) -> tuple[list[Check], CnIdNumber | None]:
    checks: list[Check] = []
    parsed: CnIdNumber | None = None
    if card.id_number is None:
        checks.append(_missing("id_number"))
    else:
        try:
            parsed = parse_cn_id_number(card.id_number, today=on, policy=policy.id_number)
            checks.append(c.passed("id_number_valid"))
            check_age(parsed.birth_date, on=on, policy=policy.id_number)
            checks.append(c.passed("applicant_age"))
        except InvalidArgument as exc:
            checks.append(
                c.failed(
                    "applicant_age" if exc.code == "id_number_age" else "id_number_valid",
                    exc.code,
                )
            )
    if card.name is None:
        checks.append(_missing("name"))

    printed_birth = None
    if card.birth_date is None:
        checks.append(_missing("birth_date"))
    else:
        printed_birth = c.parse_printed_date(card.birth_date)
        if printed_birth is None:
            checks.append(c.failed("printed_birth_date_valid", "document_birth_date_invalid"))
        elif parsed is not None:
            checks.append(
                c.same_value(
                    "birth_date_matches_id_number",
                    "document_birth_date_mismatch",
                    printed_birth,
                    parsed.birth_date,
                )
            )
    printed_sex = None
    if card.sex is None:
        checks.append(_missing("sex"))
    else:
        printed_sex = c.parse_printed_sex(card.sex)
        if printed_sex is None:
            checks.append(c.failed("printed_sex_valid", "document_sex_invalid"))
        elif parsed is not None:
            checks.append(
                c.same_value(
                    "sex_matches_id_number",
                    "document_sex_mismatch",
                    printed_sex,
                    parsed.sex,
                )
            )

    period = _cn_validity(card, on, parsed.birth_date if parsed else printed_birth, policy, checks)
    _cn_against_claims(
        card,
        parsed=parsed,
        printed_birth=printed_birth,
        printed_sex=printed_sex,
        period=period,
        claims=claims,
        holder=holder,
        checks=checks,
    )
    return checks, parsed


def _cn_validity(
    card: CnIdCardText,
    on: date,
    birth: date | None,
    policy: DocumentPolicy,
    checks: list[Check],
) -> c.ValidityPeriod | None:
    period = None
    if card.validity is not None:
        period = c.parse_validity(card.validity)
        if period is None:
            checks.append(c.failed("validity_period_valid", "document_validity_invalid"))
        else:
            checks.append(c.validity_structure(period, birth))
    if card.validity is None or period is not None:
        checks.append(
            c.not_expired(
                period.until if period else None,
                period.start if period else None,
                on=on,
                expiry_required=policy.require_expiry and period is None,
            )
        )
    return period


def _cn_against_claims(
    card: CnIdCardText,
    *,
    parsed: CnIdNumber | None,
    printed_birth: date | None,
    printed_sex: Sex | None,
    period: c.ValidityPeriod | None,
    claims: ApplicantClaims,
    holder: AccountHolder,
    checks: list[Check],
) -> None:

    if claims.id_number is not None and card.id_number is not None:
        checks.append(
            c.same_number(
                "typed_id_number_matches",
                "typed_id_number_mismatch",
                claims.id_number,
                card.id_number,
            )
        )
    if claims.name is not None and card.name is not None:
        checks.append(c.same_name("typed_name_matches", "typed_name_mismatch", claims.name, card.name))
    birth = parsed.birth_date if parsed else printed_birth
    if claims.birth_date is not None and birth is not None:
        checks.append(
            c.same_value(
                "typed_birth_date_matches",
                "typed_birth_date_mismatch",
                claims.birth_date,
                birth,
            )
        )
    sex = parsed.sex if parsed else printed_sex
    if claims.sex is not None and sex is not None:
        checks.append(c.same_value("typed_sex_matches", "typed_sex_mismatch", claims.sex, sex))
    if claims.expiry_date is not None and period is not None:
        checks.append(
            c.same_value(
                "typed_expiry_matches",
                "typed_expiry_mismatch",
                claims.expiry_date,
                period.until,
                Severity.REVIEW,
            )
        )
    if holder.id_number is not None and card.id_number is not None:
        checks.append(
            c.same_number(
                "holder_id_number_matches",
                "holder_id_number_mismatch",
                holder.id_number,
                card.id_number,
            )
        )
    if holder.name is not None and card.name is not None:
        checks.append(c.same_name("holder_name_matches", "holder_name_mismatch", holder.name, card.name))


def _mrz_checks(
    fields: DocumentFields,
    *,
    on: date,
    claims: ApplicantClaims,
    holder: AccountHolder,
    policy: DocumentPolicy,
    romanizer: Romanizer | None,
) -> tuple[list[Check], Mrz | None]:
    if not fields.mrz_lines:
        return [_missing("mrz")], None
    try:
        mrz = parse_mrz(fields.mrz_lines, today=on)
    except InvalidArgument as exc:
        return [c.failed("mrz_valid", exc.code)], None
    checks = [c.passed("mrz_valid")]
    wanted = _MRZ_CODES[fields.document_type]
    checks.append(
        c.same_value(
            "document_type_matches",
            "document_type_mismatch",
            mrz.document_code[:1] in wanted,
            True,
        )
    )
    if mrz.issuing_state in SPECIMEN_STATES and not policy.allow_specimen:
        checks.append(c.failed("document_not_specimen", "document_specimen"))
    try:
        check_age(mrz.birth_date, on=on, policy=policy.id_number)
        checks.append(c.passed("applicant_age"))
    except InvalidArgument as exc:
        checks.append(c.failed("applicant_age", exc.code))
    checks.append(c.not_expired(mrz.expiry_date, None, on=on, expiry_required=True))

    def name_check(check: str, reason: str, other: str) -> Check:
        return c.mrz_name(
            check,
            reason,
            mrz.primary_identifier,
            mrz.secondary_identifier,
            other,
            truncated=mrz.names_truncated,
            romanizer=romanizer,
        )

    if claims.name is not None:
        checks.append(name_check("typed_name_matches", "typed_name_mismatch", claims.name))
    if claims.document_number is not None:
        checks.append(
            c.same_number(
                "typed_document_number_matches",
                "typed_document_number_mismatch",
                claims.document_number,
                mrz.document_number,
            )
        )
    if claims.birth_date is not None:
        checks.append(
            c.same_value(
                "typed_birth_date_matches",
                "typed_birth_date_mismatch",
                claims.birth_date,
                mrz.birth_date,
            )
        )
    if claims.sex is not None and mrz.sex is not None:
        checks.append(c.same_value("typed_sex_matches", "typed_sex_mismatch", claims.sex, mrz.sex))
    if claims.expiry_date is not None:
        checks.append(
            c.same_value(
                "typed_expiry_matches",
                "typed_expiry_mismatch",
                claims.expiry_date,
                mrz.expiry_date,
                Severity.REVIEW,
            )
        )
    if holder.document_number is not None:
        checks.append(
            c.same_number(
                "holder_document_number_matches",
                "holder_document_number_mismatch",
                holder.document_number,
                mrz.document_number,
            )
        )
    if holder.name is not None:
        checks.append(name_check("holder_name_matches", "holder_name_mismatch", holder.name))
    return checks, mrz
