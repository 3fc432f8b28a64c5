"""Value types shared by every factor: money, the application context, factors and their recorded results."""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from idverify.domain.errors import InvalidArgument

MAX_ID_LENGTH = 128
#: Up to 15 integer digits and 2 decimals, digits only: no sign, exponent, spaces or grouping.
_PLAIN_AMOUNT = re.compile(r"[0-9]{1,15}(\.[0-9]{1,2})?", re.ASCII)  # fullmatch: "$" accepts a final newline
SUPPORTED_LOCALES = ("zh-CN", "en")


class Factor(StrEnum):
    SMS_OTP = "sms_otp"
    TOTP = "totp"
    DOCUMENT = "document"
    LIVENESS = "liveness"
    FACE_MATCH_DOCUMENT = "face_match_document"
    FACE_MATCH_ENROLLED = "face_match_enrolled"
    #: A registered device key signed this verification's nonce (possession of the person's own phone).
    DEVICE_KEY = "device_key"


class Outcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    INCONCLUSIVE = "inconclusive"


def clean_identifier(value: str, field: str, *, max_length: int = MAX_ID_LENGTH, required: bool = True) -> str:
    """Validate an opaque identifier from a caller: printable, no control or format characters, bounded.

    Raises ``InvalidArgument`` with code ``<field>_missing`` or ``<field>_invalid``.
    """
    if not value:
        if required:
            raise InvalidArgument(f"{field}_missing", f"{field} is required")
        return ""
    if len(value) > max_length:
        raise InvalidArgument(f"{field}_invalid", f"{field} is longer than {max_length} characters")
    if value != value.strip() or any(unicodedata.category(ch)[0] in {"C", "Z"} and ch != " " for ch in value):
        raise InvalidArgument(f"{field}_invalid", f"{field} contains control, format or surrounding space characters")
    return value


def normalise_locale(value: str) -> str:
    """Map a BCP 47 tag onto the locales applicants' messages exist in; anything unknown falls back to zh-CN."""
    tag = value.strip().replace("_", "-").lower()
    if tag.startswith("en"):
        return "en"
    return "zh-CN"


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount in an ISO 4217 currency. Never a float."""

    value: Decimal
    currency: str

    @classmethod
    def parse(cls, value: str, currency: str) -> Money:
        """Parse ``"12000.00"`` / ``"CNY"``. Raises ``InvalidArgument`` (amount_invalid, currency_invalid)."""
        if not (len(currency) == 3 and currency.isascii() and currency.isalpha() and currency.isupper()):
            raise InvalidArgument("currency_invalid", "currency must be an ISO 4217 code such as CNY")
        if not _PLAIN_AMOUNT.fullmatch(value):
            raise InvalidArgument("amount_invalid", "amount must be a plain decimal string such as 12000.00")
        try:
            amount = Decimal(value)
        except InvalidOperation:
            raise InvalidArgument("amount_invalid", "amount must be a decimal string such as 12000.00") from None
        if not amount.is_finite() or amount <= 0:
            raise InvalidArgument("amount_invalid", "amount must be a positive, finite number")
        exponent = amount.as_tuple().exponent
        if not isinstance(exponent, int) or exponent < -2 or amount >= Decimal("1e15"):
            raise InvalidArgument("amount_invalid", "amount must have at most 2 decimals and 15 integer digits")
        return cls(amount.quantize(Decimal("0.01")), currency)

    def __str__(self) -> str:
        return f"{self.value:.2f} {self.currency}"


@dataclass(frozen=True, slots=True)
class ApplicationContext:
    """What the lender has at hand for every call about one loan application."""

    applicant_id: str
    loan_application_id: str
    amount: Money
    device_id: str
    client_ip: str
    locale: str

    @classmethod
    def create(
        cls,
        *,
        applicant_id: str,
        loan_application_id: str,
        amount: Money,
        device_id: str,
        client_ip: str,
        locale: str,
    ) -> ApplicationContext:
        """Validate every field; raises ``InvalidArgument`` naming the first bad one."""
        ip = ""
        if client_ip:
            try:
                ip = str(ipaddress.ip_address(client_ip.strip()))
            except ValueError:
                raise InvalidArgument("client_ip_invalid", "client_ip must be an IPv4 or IPv6 address") from None
        return cls(
            applicant_id=clean_identifier(applicant_id, "applicant_id"),
            loan_application_id=clean_identifier(loan_application_id, "loan_application_id"),
            amount=amount,
            device_id=clean_identifier(device_id, "device_id", required=False),
            client_ip=ip,
            locale=normalise_locale(locale),
        )


@dataclass(frozen=True, slots=True)
class FactorResult:
    """One recorded attempt at a factor: what, when, the outcome and why."""

    factor: Factor
    outcome: Outcome
    reason_code: str
    at: datetime
    score: float = 0.0
    threshold: float = 0.0
    model_id: str = ""
    #: For liveness: whether passive presentation-attack detection ran on the frames (the token says so).
    pad_ran: bool = False
    #: For a passed liveness: the evidence that ran and passed ("continuity", "light", "capture_key",
    #: "attestation", "pad"; docs/liveness.md), which the token states.
    evidence: tuple[str, ...] = ()
