"""Machine-readable zones of travel documents (ICAO Doc 9303, Parts 3, 4, 5 and 6), written from the specification.

Three layouts: TD1 (3 lines of 30, identity cards), TD2 (2 lines of 36) and TD3 (2 lines of 44, passports).
:func:`parse_mrz` checks the layout, every field's characters, every check digit including the composite one,
the dates and the state codes, and returns a frozen :class:`Mrz`. Visas (MRV-A/B) are not identity documents for
this service and are refused as ``mrz_format``.

Two-digit years: a birth year is 20YY unless that date lies after ``today``, then 19YY; an expiry year is placed in
the century that puts it within 50 years of ``today``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Final

from idverify.domain.errors import InvalidArgument
from idverify.factors.document.cn_id import Sex
from idverify.factors.document.countries import is_known_state

_CHARSET: Final = re.compile(r"^[A-Z0-9<]+$")
_WEIGHTS: Final = (7, 3, 1)
_EXPIRY_WINDOW_YEARS: Final = 50


class MrzFormat(StrEnum):
    TD1 = "TD1"
    TD2 = "TD2"
    TD3 = "TD3"


_SHAPES: Final = {
    (3, 30): MrzFormat.TD1,
    (2, 36): MrzFormat.TD2,
    (2, 44): MrzFormat.TD3,
}


@dataclass(frozen=True, slots=True)
class Mrz:
    """A machine-readable zone whose every check digit verified. Fillers are removed from text fields."""

    format: MrzFormat
    document_code: str
    issuing_state: str
    primary_identifier: str
    secondary_identifier: str
    document_number: str
    nationality: str
    birth_date: date
    sex: Sex | None
    expiry_date: date
    optional_data: str
    optional_data_2: str
    names_truncated: bool
    lines: tuple[str, ...]

    def __repr__(self) -> str:
        # Names, numbers and dates are personal data: keep them out of logs and tracebacks.
        return f"Mrz(format={self.format}, document_code={self.document_code!r}, issuing_state={self.issuing_state!r})"


def char_value(ch: str) -> int:
    """ICAO value of one MRZ character: digits 0-9, A-Z 10-35, filler 0."""
    if ch == "<":
        return 0
    if ch.isascii() and ch.isdigit():
        return int(ch)
    if "A" <= ch <= "Z":
        return ord(ch) - ord("A") + 10
    raise ValueError("not an MRZ character")


def check_digit(field: str) -> str:
    """ICAO 9303 check digit (weights 7, 3, 1 repeating; sum mod 10) of a field, as a character."""
    return str(sum(char_value(c) * _WEIGHTS[i % 3] for i, c in enumerate(field)) % 10)


def detect_format(lines: tuple[str, ...]) -> MrzFormat | None:
    """The layout that these line count and lengths describe, or None."""
    lengths = {len(line) for line in lines}
    if len(lengths) != 1:
        return None
    return _SHAPES.get((len(lines), lengths.pop()))


def parse_mrz(lines: list[str] | tuple[str, ...], *, today: date) -> Mrz:
    """Parse and verify an MRZ given as its lines (surrounding whitespace is ignored, nothing else is forgiven).

    Raises ``InvalidArgument`` with ``mrz_format``, ``mrz_country_code``, ``mrz_sex``, ``mrz_birth_date``,
    ``mrz_expiry_date``, ``mrz_check_digit_document_number``, ``mrz_check_digit_birth_date``,
    ``mrz_check_digit_expiry``, ``mrz_check_digit_optional`` or ``mrz_check_digit_composite``; field check digits
    are verified before the composite one, so a single wrong character is reported against its field.
    """
    clean = tuple(line.strip() for line in lines)
    fmt = detect_format(clean)
    if fmt is None or not all(_CHARSET.match(line) for line in clean):
        raise InvalidArgument("mrz_format", "the machine-readable zone has the wrong shape or characters")
    if clean[0][0] not in "PIAC":
        raise InvalidArgument("mrz_format", "only passports and identity cards are accepted")
    if fmt is MrzFormat.TD1:
        return _parse_td1(clean, today)
    return _parse_td2_td3(clean, fmt, today)


def _parse_td1(lines: tuple[str, ...], today: date) -> Mrz:
    l1, l2, l3 = lines
    number, optional1 = _document_number(l1[5:14], l1[14], l1[15:30])
    birth = _checked_date(l2[0:6], l2[6], "birth", today)
    sex = _sex(l2[7])
    expiry = _checked_date(l2[8:14], l2[14], "expiry", today)
    optional2 = l2[18:29]
    _verify(l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29], l2[29], "mrz_check_digit_composite")
    primary, secondary, truncated = _names(l3)
    return Mrz(
        format=MrzFormat.TD1,
        document_code=_strip(l1[0:2]),
        issuing_state=_state(l1[2:5]),
        primary_identifier=primary,
        secondary_identifier=secondary,
        document_number=number,
        nationality=_state(l2[15:18]),
        birth_date=birth,
        sex=sex,
        expiry_date=expiry,
        optional_data=_strip(optional1),
        optional_data_2=_strip(optional2),
        names_truncated=truncated,
        lines=lines,
    )


def _parse_td2_td3(lines: tuple[str, ...], fmt: MrzFormat, today: date) -> Mrz:
    l1, l2 = lines
    end = len(l2) - 1
    if fmt is MrzFormat.TD3:
        number = l2[0:9]
        _verify(number, l2[9], "mrz_check_digit_document_number")
        optional = l2[28:42]
        _verify_optional(optional, l2[42])
    else:
        number, optional = _document_number(l2[0:9], l2[9], l2[28:35])
    birth = _checked_date(l2[13:19], l2[19], "birth", today)
    sex = _sex(l2[20])
    expiry = _checked_date(l2[21:27], l2[27], "expiry", today)
    _verify(l2[0:10] + l2[13:20] + l2[21:end], l2[end], "mrz_check_digit_composite")
    primary, secondary, truncated = _names(l1[5:])
    return Mrz(
        format=fmt,
        document_code=_strip(l1[0:2]),
        issuing_state=_state(l1[2:5]),
        primary_identifier=primary,
        secondary_identifier=secondary,
        document_number=_strip(number),
        nationality=_state(l2[10:13]),
        birth_date=birth,
        sex=sex,
        expiry_date=expiry,
        optional_data=_strip(optional),
        optional_data_2="",
        names_truncated=truncated,
        lines=lines,
    )


def _document_number(first9: str, digit: str, optional: str) -> tuple[str, str]:
    """Document number and the remaining optional data; a ``<`` check digit means the number continues in the
    optional data up to the next filler, its last character being the check digit (TD1 and TD2 only)."""
    if digit != "<":
        _verify(first9, digit, "mrz_check_digit_document_number")
        return _strip(first9), optional
    end = optional.find("<")
    extension = optional if end < 0 else optional[:end]
    if len(extension) < 2 or "<" in first9:
        raise InvalidArgument("mrz_check_digit_document_number", "the long document number is malformed")
    number = first9 + extension[:-1]
    _verify(number, extension[-1], "mrz_check_digit_document_number")
    return number, "" if end < 0 else optional[end + 1 :]


def _verify(field: str, digit: str, code: str) -> None:
    if check_digit(field) != digit:
        raise InvalidArgument(code, "a check digit of the machine-readable zone does not match")


def _verify_optional(optional: str, digit: str) -> None:
    # ICAO allows 0 or a filler as the check digit of an unused (all-filler) personal-number field.
    if set(optional) == {"<"} and digit in "<0":
        return
    _verify(optional, digit, "mrz_check_digit_optional")


def _checked_date(text: str, digit: str, kind: str, today: date) -> date:
    code = "mrz_check_digit_birth_date" if kind == "birth" else "mrz_check_digit_expiry"
    _verify(text, digit, code)
    bad = "mrz_birth_date" if kind == "birth" else "mrz_expiry_date"
    if not text.isdigit():
        raise InvalidArgument(bad, "a date of the machine-readable zone is incomplete")
    yy, mm, dd = int(text[0:2]), int(text[2:4]), int(text[4:6])
    try:
        if kind == "birth":
            value = date(2000 + yy, mm, dd)
            if value > today:
                value = date(1900 + yy, mm, dd)
            return value
        century = 2000 if 2000 + yy < today.year + _EXPIRY_WINDOW_YEARS else 1900
        return date(century + yy, mm, dd)
    except ValueError:
        raise InvalidArgument(bad, "a date of the machine-readable zone does not exist") from None


def _sex(ch: str) -> Sex | None:
    if ch == "M":
        return Sex.MALE
    if ch == "F":
        return Sex.FEMALE
    if ch in "<X":
        return None
    raise InvalidArgument("mrz_sex", "the sex field of the machine-readable zone is invalid")


def _state(field: str) -> str:
    code = _strip(field)
    if not code.isalpha() or not is_known_state(code):
        raise InvalidArgument("mrz_country_code", "unknown state code in the machine-readable zone")
    return code


def _names(field: str) -> tuple[str, str, bool]:
    """Primary and secondary identifiers, parts separated by one space; truncated when the field is full."""
    primary, _, secondary = field.partition("<<")
    truncated = not field.endswith("<")
    if not primary.strip("<") or any(ch.isdigit() for ch in field):
        raise InvalidArgument("mrz_format", "the name field of the machine-readable zone is malformed")
    return _words(primary), _words(secondary), truncated


def _words(text: str) -> str:
    return " ".join(part for part in text.split("<") if part)


def _strip(text: str) -> str:
    return text.strip("<")
