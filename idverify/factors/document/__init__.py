"""The document factor: PRC identity numbers (GB 11643), ICAO 9303 machine-readable zones, and the checks that
compare what a document says with itself, with the applicant and with the account holder. Standard library only."""

from idverify.factors.document.cn_id import (
    CnIdNumber,
    CnIdPolicy,
    LegacyNumbers,
    Sex,
    check_age,
    parse_cn_id_number,
    validate_cn_id_number,
)
from idverify.factors.document.consistency import Check, Severity
from idverify.factors.document.decision import (
    DocumentDecision,
    DocumentPolicy,
    Outcome,
    evaluate_document,
)
from idverify.factors.document.fields import (
    AccountHolder,
    ApplicantClaims,
    CnIdCardText,
    DocumentFields,
    DocumentType,
)
from idverify.factors.document.mrz import Mrz, MrzFormat, parse_mrz
from idverify.factors.document.names import Romanizer

__all__ = [
    "AccountHolder",
    "ApplicantClaims",
    "Check",
    "CnIdCardText",
    "CnIdNumber",
    "CnIdPolicy",
    "DocumentDecision",
    "DocumentFields",
    "DocumentPolicy",
    "DocumentType",
    "LegacyNumbers",
    "Mrz",
    "MrzFormat",
    "Outcome",
    "Romanizer",
    "Severity",
    "Sex",
    "check_age",
    "evaluate_document",
    "parse_cn_id_number",
    "parse_mrz",
    "validate_cn_id_number",
]
