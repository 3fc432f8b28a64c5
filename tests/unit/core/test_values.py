"""Money, application context and identifiers: every malformed field is refused with its own reason code."""

from __future__ import annotations

from decimal import Decimal

import pytest

from idverify.domain.errors import InvalidArgument
from idverify.domain.values import ApplicationContext, Money, clean_identifier, normalise_locale


@pytest.mark.parametrize(("value", "expected"), [("12000", "12000.00"), ("12000.5", "12000.50"), ("0.01", "0.01")])
def test_money_parses_plain_decimals_exactly(value: str, expected: str) -> None:
    assert Money.parse(value, "CNY").value == Decimal(expected)


@pytest.mark.parametrize("value", ["", "0", "-5", "1.001", "NaN", "Infinity", "1e3x", "１２", "9" * 30, "1e20",
                                   "1e3", " 12", "1,000.00", "+5", "12."])
def test_money_refuses_non_positive_non_decimal_or_too_precise_amounts(value: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        Money.parse(value, "CNY")
    assert err.value.code == "amount_invalid"


@pytest.mark.parametrize("currency", ["", "cny", "CN", "CNYY", "C1Y", "人民币"])
def test_money_refuses_currencies_that_are_not_iso_codes(currency: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        Money.parse("10", currency)
    assert err.value.code == "currency_invalid"


@pytest.mark.parametrize("junk", ["a\x00b", "tab\there", "\u202eevil", " padded", "x" * 129, "line\nbreak"])
def test_identifiers_with_control_format_or_oversized_content_are_refused(junk: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        clean_identifier(junk, "applicant_id")
    assert err.value.code == "applicant_id_invalid"


def test_missing_identifier_has_its_own_code() -> None:
    with pytest.raises(InvalidArgument) as err:
        clean_identifier("", "loan_application_id")
    assert err.value.code == "loan_application_id_missing"


def test_context_normalises_ip_and_locale_and_refuses_bad_ip() -> None:
    ctx = ApplicationContext.create(applicant_id="a-1", loan_application_id="L-1", amount=Money.parse("5", "CNY"),
                                    device_id="dev", client_ip="2001:db8::0:1", locale="en_US")
    assert (ctx.client_ip, ctx.locale) == ("2001:db8::1", "en")
    with pytest.raises(InvalidArgument) as err:
        ApplicationContext.create(applicant_id="a-1", loan_application_id="L-1", amount=Money.parse("5", "CNY"),
                                  device_id="", client_ip="300.1.1.1", locale="zh-CN")
    assert err.value.code == "client_ip_invalid"


def test_unknown_locales_fall_back_to_simplified_chinese() -> None:
    assert normalise_locale("fr-FR") == "zh-CN"
    assert normalise_locale("zh-Hans-CN") == "zh-CN"
    assert normalise_locale("EN") == "en"
