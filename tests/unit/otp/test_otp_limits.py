"""Pure helpers of the limits: windows, phone checks, masking."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from idverify.factors.otp_limits import OtpLimits, WindowLimit, mask_phone, phone_prefix


def test_fixed_windows_are_aligned_on_the_epoch() -> None:
    start, end = WindowLimit(5, 3600).window(datetime(2026, 11, 1, 9, 59, 59, tzinfo=UTC))
    assert start == datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    assert end == datetime(2026, 11, 1, 10, 0, tzinfo=UTC)


def test_masking_keeps_only_country_code_and_last_four_digits() -> None:
    assert mask_phone("+8613812345678") == "+86*******5678"
    assert "1234" not in mask_phone("+8613812345678")[:-4]


def test_prefix_is_the_first_digits_country_code_included() -> None:
    assert phone_prefix("+8613812345678", 10) == "8613812345"


@pytest.mark.parametrize(
    "bad",
    [{"code_length": 5}, {"ttl_s": 30}, {"max_checks_per_code": 0}, {"allowed_calling_codes": ()},
     {"allowed_calling_codes": ("+86",)}, {"prefix_digits": 2}],
)
def test_invalid_settings_fail_at_start_up(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        OtpLimits(**bad)  # type: ignore[arg-type]
