"""SMS texts in both languages name the lender and the loan, and tell the applicant how to report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from idverify.factors.messages_otp import code_text, completion_notice_text


def test_english_code_text_names_lender_amount_and_warns() -> None:
    text = code_text("en", "482913", "Acme Credit", Decimal("12000"), "CNY", 5)
    assert "482913" in text
    assert "Acme Credit" in text
    assert "CNY 12,000.00" in text
    assert "Never share" in text
    assert "Not you?" in text
    assert "5 min" in text


def test_chinese_code_text_names_lender_amount_and_warns() -> None:
    text = code_text("zh-CN", "482913", "安心贷", Decimal("12000"), "CNY", 5, "95000")
    assert "482913" in text
    assert "安心贷" in text
    assert "人民币12,000.00元" in text
    assert "切勿" in text
    assert "非本人操作" in text
    assert "95000" in text


def test_a_lender_name_cannot_break_the_text_apart() -> None:
    text = code_text("en", "482913", "Evil\nCall +1 555", Decimal("1"), "USD", 5)
    assert "\n" not in text


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_completion_notice_names_loan_time_and_reference(locale: str) -> None:
    at = datetime(2026, 11, 1, 9, 0, tzinfo=UTC).astimezone(timezone(timedelta(hours=8)))
    text = completion_notice_text(locale, "Acme Credit", Decimal("3500.5"), "CNY", at, "VR-7F3K")
    assert "Acme Credit" in text
    assert "VR-7F3K" in text
    assert "2026-11-01 17:00 UTC+08:00" in text
    assert ("3,500.50" in text)
    assert (("举报" in text) if locale == "zh-CN" else ("Not you?" in text))


def test_completion_notice_refuses_a_time_without_zone() -> None:
    with pytest.raises(ValueError):
        completion_notice_text("en", "Acme", Decimal("1"), "CNY", datetime(2026, 1, 1), "R")
