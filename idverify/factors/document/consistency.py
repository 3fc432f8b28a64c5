"""Single checks that compare what a document says with itself, with the applicant and with the account holder.

Each check yields a :class:`Check` ``{name, passed, reason_code, severity}``. ``severity`` says what a failure
means for the decision: ``fail`` for a contradiction that a misread cannot explain away (a number that fails its
checksum, an expired card, a typed number that differs), ``review`` for what a person should look at (a name that
differs, a field that could not be read). Nothing here ever repairs a value: a misread is a failed check.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Final

from idverify.factors.document.cn_id import Sex, age_on, normalise_number_text
from idverify.factors.document.names import Romanizer, mrz_name_match, names_match


class Severity(StrEnum):
    FAIL = "fail"
    REVIEW = "review"


@dataclass(frozen=True, slots=True)
class Check:
    """One named comparison. ``reason_code`` is None when it passed."""

    name: str
    passed: bool
    reason_code: str | None = None
    severity: Severity = Severity.FAIL


def passed(name: str) -> Check:
    return Check(name, True)


def failed(name: str, reason_code: str, severity: Severity = Severity.FAIL) -> Check:
    return Check(name, False, reason_code, severity)


@dataclass(frozen=True, slots=True)
class ValidityPeriod:
    """有效期限 of a PRC card: ``until`` is None for 长期 (long-term)."""

    start: date
    until: date | None


_DATE: Final = re.compile(r"^(\d{4})[年.\-/]?(\d{1,2})[月.\-/]?(\d{1,2})日?$")
_RANGE_SEPARATORS: Final = re.compile(r"[-~—–一至]+")
_LONG_TERM: Final = ("长期", "長期")
_SEX_WORDS: Final = {
    "男": Sex.MALE,
    "女": Sex.FEMALE,
    "M": Sex.MALE,
    "F": Sex.FEMALE,
    "MALE": Sex.MALE,
    "FEMALE": Sex.FEMALE,
}
# 居民身份证法 art. 5: under 16 -> 5 years, 16-25 -> 10 years, 26-45 -> 20 years, 46 and over -> long-term.
_TERM_BY_AGE: Final = ((16, 5), (26, 10), (46, 20))


def parse_printed_date(text: str) -> date | None:
    """``1990年2月3日``, ``1990.02.03``, ``1990-02-03`` or ``19900203``; None when it is not a real date."""
    compact = "".join(unicodedata.normalize("NFKC", text).split())
    match = _DATE.match(compact)
    if match is None:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def parse_validity(text: str) -> ValidityPeriod | None:
    """``2015.03.01-2035.03.01`` or ``2015.03.01-长期`` (any dash-like separator); None when malformed."""
    compact = "".join(unicodedata.normalize("NFKC", text).split())
    for word in _LONG_TERM:
        if compact.endswith(word):
            start = parse_printed_date(_RANGE_SEPARATORS.sub("", compact[: -len(word)]))
            return None if start is None else ValidityPeriod(start, None)
    parts = [p for p in _RANGE_SEPARATORS.split(compact) if p]
    if len(parts) != 2:
        return None
    start, until = parse_printed_date(parts[0]), parse_printed_date(parts[1])
    if start is None or until is None or until <= start:
        return None
    return ValidityPeriod(start, until)


def parse_printed_sex(text: str) -> Sex | None:
    return _SEX_WORDS.get(unicodedata.normalize("NFKC", text).strip().upper())


def validity_structure(period: ValidityPeriod, birth: date | None) -> Check:
    """A PRC card is valid for exactly 5, 10 or 20 years or long-term, by the holder's age when it was issued."""
    name = "validity_period_consistent"
    years = None
    if period.until is not None:
        years = next(
            (n for n in (5, 10, 20) if _close(_add_years(period.start, n), period.until)),
            None,
        )
        if years is None:
            return failed(name, "document_validity_inconsistent", Severity.REVIEW)
    if birth is None:
        return passed(name)
    age = age_on(birth, period.start)
    expected = next((term for limit, term in _TERM_BY_AGE if age < limit), None)
    # Allow the neighbouring term one year either side of a boundary (applied before a birthday, issued after).
    allowed = {
        expected,
        next((t for lim, t in _TERM_BY_AGE if age + 1 < lim), None),
        next((t for lim, t in _TERM_BY_AGE if age - 1 < lim), None),
    }
    return passed(name) if years in allowed else failed(name, "document_validity_inconsistent", Severity.REVIEW)


def not_expired(expiry: date | None, start: date | None, *, on: date, expiry_required: bool) -> Check:
    name = "document_not_expired"
    if start is not None and start > on:
        return failed(name, "document_not_yet_valid")
    if expiry is None:
        return failed(name, "document_expiry_unknown", Severity.REVIEW) if expiry_required else passed(name)
    return passed(name) if on <= expiry else failed(name, "document_expired")


def same_number(name: str, reason: str, a: str, b: str) -> Check:
    """Two identity or document numbers, compared after NFKC and without spaces (never corrected)."""
    return passed(name) if normalise_number_text(a) == normalise_number_text(b) else failed(name, reason)


def same_value(name: str, reason: str, a: object, b: object, severity: Severity = Severity.FAIL) -> Check:
    return passed(name) if a == b else failed(name, reason, severity)


def same_name(name: str, reason: str, a: str, b: str) -> Check:
    return passed(name) if names_match(a, b) else failed(name, reason, Severity.REVIEW)


def mrz_name(
    name: str,
    reason: str,
    primary: str,
    secondary: str,
    other: str,
    *,
    truncated: bool,
    romanizer: Romanizer | None,
) -> Check:
    result = mrz_name_match(primary, secondary, other, truncated=truncated, romanizer=romanizer)
    if result is None:
        return failed(name, "name_unverifiable", Severity.REVIEW)
    return passed(name) if result else failed(name, reason, Severity.REVIEW)


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year + years, day=28)


def _close(a: date, b: date) -> bool:
    return abs((a - b).days) <= 1
