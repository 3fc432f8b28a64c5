"""One set of edge rules for everything a caller sends: phone numbers, identifiers, amounts and locales.

Every RPC that accepts one of these values converts it here (or through ``transport.convert``, which uses the
same functions), so a value refused by one RPC is refused by all of them, with the same reason code, before any
use case runs. Phone numbers are parsed with ``phonenumbers`` (Google's libphonenumber metadata): the number must
arrive in E.164 form exactly ("+" and digits, nothing around it), be a valid number for its region, and belong to
one of the allowed country calling codes (``IDVERIFY_SMS_ALLOWED_COUNTRY_CODES``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import phonenumbers

from idverify.domain.errors import InvalidArgument
from idverify.domain.values import MAX_ID_LENGTH, Money, clean_identifier, normalise_locale

_E164_SHAPE = re.compile(r"\+[1-9][0-9]{6,14}", re.ASCII)
PAYOUT_ACCOUNT_MAX = 64


class PhoneRules:
    """E.164 numbers of the allowed country calling codes (default: mainland China, +86)."""

    def __init__(self, allowed_calling_codes: Iterable[str] = ("86",)) -> None:
        self._allowed = frozenset(int(code) for code in allowed_calling_codes)
        if not self._allowed:
            raise ValueError("at least one country calling code must be allowed")

    def parse(self, value: str, field: str = "phone_e164") -> str:
        """The number in E.164 form. Raises ``InvalidArgument("phone_invalid" | "phone_country_not_allowed")``."""
        if not _E164_SHAPE.fullmatch(value):
            raise InvalidArgument("phone_invalid", f"{field} must be in E.164 form, e.g. +8613800138000")
        try:
            number = phonenumbers.parse(value, None)
        except phonenumbers.NumberParseException:
            raise InvalidArgument("phone_invalid", f"{field} is not a phone number") from None
        if not phonenumbers.is_valid_number(number):
            raise InvalidArgument("phone_invalid", f"{field} is not a valid number in its country")
        if number.country_code not in self._allowed:
            raise InvalidArgument("phone_country_not_allowed", "numbers of this country are not accepted")
        formatted = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        if formatted != value:  # e.g. a national trunk prefix written after the country code
            raise InvalidArgument("phone_invalid", f"{field} must be in E.164 form, e.g. +8613800138000")
        return formatted

    def optional(self, value: str, field: str = "phone_e164") -> str:
        return self.parse(value, field) if value else ""


def identifier(value: str, field: str, *, required: bool = True, max_length: int = MAX_ID_LENGTH) -> str:
    """An opaque identifier (applicant, loan application, device, staff, case): printable, no control, format or
    surrounding space characters, bounded. Raises ``InvalidArgument("<field>_missing" | "<field>_invalid")``."""
    return clean_identifier(value, field, required=required, max_length=max_length)


def payout_account(value: str) -> str:
    """The payout account a token binds (StartVerification, RedeemToken: the same rule at both)."""
    return clean_identifier(value, "payout_account", max_length=PAYOUT_ACCOUNT_MAX)


def amount(value: str, currency: str) -> Money:
    """A plain decimal string and an ISO 4217 code (see ``Money.parse``)."""
    return Money.parse(value, currency)


def locale(value: str) -> str:
    """zh-CN or en (anything else falls back to zh-CN)."""
    return normalise_locale(value)
