"""Value types that cross the document factor's boundary: what was read from a document, what the applicant typed,
and what the lender already knows about the account holder. Plain data, no behaviour."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from enum import StrEnum

from idverify.factors.document.cn_id import Sex


class DocumentType(StrEnum):
    CN_ID_CARD = "cn_id_card"
    PASSPORT = "passport"
    ID_CARD_MRZ = "id_card_mrz"


@dataclass(frozen=True, slots=True)
class CnIdCardText:
    """Text printed on a PRC resident identity card, as read (unvalidated); None when not read.

    Front: 姓名 name, 性别 sex, 民族 ethnicity, 出生 birth date (e.g. ``"1990年2月3日"``), 住址 address,
    公民身份号码 number. Back: 签发机关 issuing authority, 有效期限 validity (``"2015.03.01-2035.03.01"`` or
    ``"2015.03.01-长期"``).
    """

    name: str | None = None
    sex: str | None = None
    ethnicity: str | None = None
    birth_date: str | None = None
    address: str | None = None
    id_number: str | None = None
    issuing_authority: str | None = None
    validity: str | None = None

    def merged(self, other: CnIdCardText) -> CnIdCardText:
        """This card's fields, with the gaps filled from ``other`` (front + back)."""
        return CnIdCardText(**{f.name: getattr(self, f.name) or getattr(other, f.name) for f in fields(self)})

    def __repr__(self) -> str:
        present = [f.name for f in fields(self) if getattr(self, f.name)]
        return f"CnIdCardText(read={present})"


@dataclass(frozen=True, slots=True)
class DocumentFields:
    """Everything read from one document: the printed card text (PRC ID cards) and/or the MRZ lines."""

    document_type: DocumentType
    cn_id: CnIdCardText | None = None
    mrz_lines: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ApplicantClaims:
    """What the applicant typed into the loan application (any subset)."""

    name: str | None = None
    id_number: str | None = None
    document_number: str | None = None
    birth_date: date | None = None
    sex: Sex | None = None
    expiry_date: date | None = None

    def __repr__(self) -> str:
        return "ApplicantClaims(<redacted>)"


@dataclass(frozen=True, slots=True)
class AccountHolder:
    """The lender's record of the account the loan would be paid into (any subset)."""

    name: str | None = None
    id_number: str | None = None
    document_number: str | None = None

    def __repr__(self) -> str:
        return "AccountHolder(<redacted>)"
