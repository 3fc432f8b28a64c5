"""Conversions for SubmitDocument: typed and record values in, extracted values and checks out."""

from __future__ import annotations

from datetime import date

from idverify.api.v1 import verification_pb2 as pb
from idverify.domain.errors import InvalidArgument
from idverify.factors.document import (
    AccountHolder,
    ApplicantClaims,
    DocumentDecision,
    DocumentFields,
    DocumentType,
    Sex,
)

DOCUMENT_TYPES: dict[int, DocumentType] = {
    pb.DOCUMENT_TYPE_CN_ID_CARD: DocumentType.CN_ID_CARD,
    pb.DOCUMENT_TYPE_PASSPORT: DocumentType.PASSPORT,
    pb.DOCUMENT_TYPE_ID_CARD_MRZ: DocumentType.ID_CARD_MRZ,
}
_MAX_FIELD = 128


def document_type(value: int) -> DocumentType:
    found = DOCUMENT_TYPES.get(value)
    if found is None:
        raise InvalidArgument("document_type_invalid", "name the document type")
    return found


def _text(value: str, field: str) -> str | None:
    if not value:
        return None
    if len(value) > _MAX_FIELD or not value.isprintable():
        raise InvalidArgument(f"{field}_invalid", f"{field} is too long or has control characters")
    return value


def _date(value: str, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidArgument(f"{field}_invalid", f"{field} must be an ISO date (YYYY-MM-DD)") from None


def _sex(value: str) -> Sex | None:
    if not value:
        return None
    try:
        return Sex(value.upper()[:1])
    except ValueError:
        raise InvalidArgument("sex_invalid", "sex must be M or F") from None


def claims(msg: pb.DocumentFields, present: bool) -> ApplicantClaims | None:
    if not present:
        return None
    number = _text(msg.document_number, "document_number")
    expiry = None if msg.expiry_date == "long_term" else _date(msg.expiry_date, "expiry_date")
    return ApplicantClaims(name=_text(msg.full_name, "full_name"), id_number=number, document_number=number,
                           birth_date=_date(msg.birth_date, "birth_date"), sex=_sex(msg.sex), expiry_date=expiry)


def holder(msg: pb.DocumentFields, present: bool) -> AccountHolder | None:
    if not present:
        return None
    number = _text(msg.document_number, "document_number")
    return AccountHolder(name=_text(msg.full_name, "full_name"), id_number=number, document_number=number)


def extracted(fields: DocumentFields, decision: DocumentDecision) -> pb.DocumentFields:
    out = pb.DocumentFields()
    if fields.cn_id is not None:
        card = fields.cn_id
        out.full_name = card.name or ""
        out.document_number = card.id_number or ""
        out.nationality = "CHN"
        out.issuing_state = "CHN"
        out.sex = {"男": "M", "女": "F"}.get(card.sex or "", "")
        if decision.id_number is not None:
            out.birth_date = decision.id_number.birth_date.isoformat()
        if card.validity and "长期" in card.validity:
            out.expiry_date = "long_term"
    if decision.mrz is not None:
        mrz = decision.mrz
        out.full_name = " ".join(p for p in (mrz.primary_identifier, mrz.secondary_identifier) if p)
        out.document_number = mrz.document_number
        out.birth_date = mrz.birth_date.isoformat()
        out.sex = mrz.sex.value if mrz.sex else ""
        out.expiry_date = mrz.expiry_date.isoformat()
        out.nationality = mrz.nationality
        out.issuing_state = mrz.issuing_state
    return out


def checks(decision: DocumentDecision) -> list[pb.DocumentCheck]:
    return [pb.DocumentCheck(name=c.name, passed=c.passed, reason_code=c.reason_code) for c in decision.checks]
