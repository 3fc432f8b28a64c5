"""Texts sent to applicants by SMS, in zh-CN and en.

The code text names the lender, the amount and the currency it approves, so a victim who did not apply learns what
is happening in their name; it says never to share the code and how to report. The completion notice tells the
applicant that a loan was verified, so a fraud not stopped is at least noticed early.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
_LENDER_MAX = 40


def _lender(name: str) -> str:
    """Configured lender names still go through this: no line breaks or control characters inside an SMS."""
    clean = " ".join(_CONTROL.sub(" ", name).split())
    return clean[:_LENDER_MAX] or "-"


def format_amount(locale: str, amount: Decimal, currency: str) -> str:
    """``CNY 12,000.00`` in English, ``人民币12,000.00元`` in Chinese (other currencies: ``12,000.00 USD``)."""
    exponent = amount.as_tuple().exponent
    places = 2 if isinstance(exponent, int) and exponent >= -2 else None
    number = f"{amount:,.2f}" if places is not None else f"{amount:,f}"
    if locale == "zh-CN":
        return f"人民币{number}元" if currency == "CNY" else f"{number} {currency}"
    return f"{currency} {number}"


def format_time(at: datetime) -> str:
    """``2026-11-01 17:00 UTC+08:00``: the offset is always shown, so no reader guesses the zone."""
    if at.tzinfo is None:
        raise ValueError("notice times must be timezone-aware")
    offset = at.strftime("%z")
    return f"{at:%Y-%m-%d %H:%M} UTC{offset[:3]}:{offset[3:]}"


def _report(locale: str, lender: str, report_contact: str) -> str:
    contact = _CONTROL.sub(" ", report_contact).strip()
    if locale == "zh-CN":
        return f"非本人操作？请立即举报：{contact}。" if contact else f"非本人操作？请立即向{lender}举报。"
    return f"Not you? Report it now: {contact}." if contact else f"Not you? Report it to {lender} now."


def code_text(  # noqa: PLR0917  (the signature the verification use case was promised)
    locale: str,
    code: str,
    lender: str,
    amount: Decimal,
    currency: str,
    valid_minutes: int,
    report_contact: str = "",
) -> str:
    """The SMS carrying a one-time code."""
    name = _lender(lender)
    money = format_amount(locale, amount, currency)
    report = _report(locale, name, report_contact)
    if locale == "zh-CN":
        return (
            f"【{name}】验证码{code}，用于确认您向{name}申请{money}的贷款，{valid_minutes}分钟内有效。"
            f"切勿将验证码告诉任何人，包括自称工作人员的人。{report}"
        )
    return (
        f"[{name}] Code {code} confirms your loan application of {money} with {name}. "
        f"Valid {valid_minutes} min. Never share this code with anyone, even staff. {report}"
    )


def completion_notice_text(  # noqa: PLR0917  (the signature the verification use case was promised)
    locale: str,
    lender: str,
    amount: Decimal,
    currency: str,
    at: datetime,
    reference: str,
    report_contact: str = "",
) -> str:
    """The SMS sent once a loan was verified in the applicant's name."""
    name = _lender(lender)
    money = format_amount(locale, amount, currency)
    when = format_time(at)
    ref = _CONTROL.sub("", reference)[:64]
    if locale == "zh-CN":
        return (
            f"【{name}】您名下一笔{money}的贷款已于{when}完成身份验证，业务编号{ref}。"
            + _report(locale, name, report_contact).rstrip("。")
            + "，并提供业务编号。"
        )
    return (
        f"[{name}] A loan of {money} was verified in your name at {when}, reference {ref}. "
        + _report(locale, name, report_contact).rstrip(".")
        + " and quote the reference."
    )
