"""Citizen identity numbers of the People's Republic of China (GB 11643-1999).

An 18-character number is: a 6-digit administrative division code (GB/T 2260), an 8-digit birth date YYYYMMDD,
a 3-digit sequence whose last digit is odd for men and even for women, and an ISO 7064 MOD 11-2 check character
(0-9 or X). Numbers issued before 1999 had 15 digits (YYMMDD, no check character); depending on policy they are
converted (insert "19", compute the check character) or refused.

Every failure raises :class:`~idverify.domain.errors.InvalidArgument` with one stable reason code; the message
never contains the number itself.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Final

from idverify.domain.errors import InvalidArgument
from idverify.factors.document.regions import is_known_province

# ISO 7064 MOD 11-2 weights 2^(17-i) mod 11 for positions 0..16, and the check character for each remainder.
_WEIGHTS: Final = tuple(pow(2, 17 - i, 11) for i in range(17))
_CHECK_CHARS: Final = "10X98765432"
_EARLIEST_BIRTH_YEAR: Final = 1880
_SEPARATORS: Final = frozenset(" \t-")


class Sex(StrEnum):
    MALE = "M"
    FEMALE = "F"


class LegacyNumbers(StrEnum):
    """What to do with a 15-digit number issued before 1999."""

    CONVERT = "convert"
    REFUSE = "refuse"


@dataclass(frozen=True, slots=True)
class CnIdPolicy:
    """Rules that are a lender's choice rather than part of the standard."""

    min_age: int = 18
    max_age: int = 65
    legacy_numbers: LegacyNumbers = LegacyNumbers.REFUSE

    def __post_init__(self) -> None:
        if not 0 <= self.min_age <= self.max_age <= 150:
            raise ValueError("need 0 <= min_age <= max_age <= 150")


@dataclass(frozen=True, slots=True)
class CnIdNumber:
    """A number that can exist: right length and characters, known province, real past birth date, valid check."""

    number: str
    region_code: str
    birth_date: date
    sex: Sex
    converted_from_legacy: bool = False

    @property
    def province_code(self) -> str:
        return self.region_code[:2]

    def __repr__(self) -> str:
        # Never print the number itself (it is personal data); the region and the check character are enough to
        # tell two values apart in a debugging session.
        return f"CnIdNumber(region={self.province_code}xxxx, converted_from_legacy={self.converted_from_legacy})"


def check_character(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character of the first 17 digits."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError("need exactly 17 ascii digits")
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def normalise_number_text(raw: str) -> str:
    """NFKC (full-width digits become ascii), drop spaces and hyphens, upper-case the check character."""
    text = unicodedata.normalize("NFKC", raw)
    return "".join(ch for ch in text if ch not in _SEPARATORS).upper()


def parse_cn_id_number(raw: str, *, today: date, policy: CnIdPolicy | None = None) -> CnIdNumber:
    """Parse and validate a GB 11643 number, without the age rule (see :func:`check_age`).

    Accepts a lower-case ``x`` and full-width digits (the result is normalised). Raises ``InvalidArgument`` with
    ``id_number_format``, ``id_number_legacy_refused``, ``id_number_region``, ``id_number_birth_date`` or
    ``id_number_checksum``.
    """
    policy = policy or CnIdPolicy()
    text = normalise_number_text(raw)
    converted = False
    if len(text) == 15:
        if not (text.isascii() and text.isdigit()):
            raise InvalidArgument("id_number_format", "a 15-character identity number must be all digits")
        if policy.legacy_numbers is LegacyNumbers.REFUSE:
            raise InvalidArgument("id_number_legacy_refused", "15-digit identity numbers are not accepted")
        first17 = text[:6] + "19" + text[6:]
        text = first17 + check_character(first17)
        converted = True
    elif len(text) != 18 or not (text.isascii() and text[:17].isdigit() and (text[17].isdigit() or text[17] == "X")):
        raise InvalidArgument("id_number_format", "an identity number has 17 digits and a digit or X")

    if not is_known_province(text[:2]):
        raise InvalidArgument("id_number_region", "the identity number's region code does not exist")
    birth = _birth_date(text[6:14], today)
    if check_character(text[:17]) != text[17]:
        raise InvalidArgument("id_number_checksum", "the identity number's check character is wrong")
    sex = Sex.MALE if int(text[16]) % 2 == 1 else Sex.FEMALE
    return CnIdNumber(
        number=text,
        region_code=text[:6],
        birth_date=birth,
        sex=sex,
        converted_from_legacy=converted,
    )


def age_on(birth: date, on: date) -> int:
    """Completed years of age on ``on`` (someone born on 29 February turns a year older on 1 March)."""
    years = on.year - birth.year
    if (on.month, on.day) < (birth.month, birth.day):
        years -= 1
    return years


def check_age(birth: date, *, on: date, policy: CnIdPolicy | None = None) -> None:
    """Raise ``InvalidArgument("id_number_age")`` unless the age on ``on`` is within the policy's limits."""
    policy = policy or CnIdPolicy()
    if not policy.min_age <= age_on(birth, on) <= policy.max_age:
        raise InvalidArgument("id_number_age", "the applicant's age is outside the accepted range")


def validate_cn_id_number(raw: str, *, today: date, policy: CnIdPolicy | None = None) -> CnIdNumber:
    """:func:`parse_cn_id_number` then :func:`check_age` on ``today``."""
    parsed = parse_cn_id_number(raw, today=today, policy=policy)
    check_age(parsed.birth_date, on=today, policy=policy)
    return parsed


def _birth_date(digits: str, today: date) -> date:
    try:
        birth = date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        raise InvalidArgument("id_number_birth_date", "the identity number's birth date does not exist") from None
    if birth > today or birth.year < _EARLIEST_BIRTH_YEAR:
        raise InvalidArgument("id_number_birth_date", "the identity number's birth date is not plausible")
    return birth
