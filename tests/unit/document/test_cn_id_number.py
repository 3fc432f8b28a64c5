"""GB 11643-1999 citizen identity numbers: the standard's example, generated valid numbers, and every way to fail."""

from __future__ import annotations

import random
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from idverify.domain.errors import InvalidArgument
from idverify.factors.document.cn_id import (
    CnIdPolicy,
    LegacyNumbers,
    Sex,
    age_on,
    check_age,
    check_character,
    parse_cn_id_number,
    validate_cn_id_number,
)
from idverify.factors.document.regions import PROVINCES
from tests.docgen.identities import cn_number

TODAY = date(2026, 11, 1)
EXAMPLE = "11010519491231002X"  # the example number printed in GB 11643-1999


def reason(raw: str, **kwargs: object) -> str:
    with pytest.raises(InvalidArgument) as info:
        parse_cn_id_number(raw, today=TODAY, **kwargs)  # type: ignore[arg-type]
    return info.value.code


def test_standard_example_parses_to_region_birth_date_and_sex() -> None:
    parsed = parse_cn_id_number(EXAMPLE, today=TODAY)
    assert parsed.number == EXAMPLE
    assert parsed.region_code == "110105"
    assert parsed.province_code == "11"
    assert parsed.birth_date == date(1949, 12, 31)
    assert parsed.sex is Sex.FEMALE
    assert not parsed.converted_from_legacy


def test_lower_case_x_is_accepted_and_reported_upper_case() -> None:
    assert parse_cn_id_number(EXAMPLE.lower(), today=TODAY).number == EXAMPLE


def test_full_width_digits_and_spaces_are_normalised() -> None:
    typed = "１１０１０５ １９４９１２３１ ００２Ｘ"
    assert parse_cn_id_number(typed, today=TODAY).number == EXAMPLE


def test_check_character_follows_iso_7064_mod_11_2() -> None:
    assert check_character(EXAMPLE[:17]) == "X"
    assert check_character("11010519491231002") == "X"
    with pytest.raises(ValueError):
        check_character("1234")


def test_repr_does_not_reveal_the_number() -> None:
    assert EXAMPLE not in repr(parse_cn_id_number(EXAMPLE, today=TODAY))
    assert "19491231" not in repr(parse_cn_id_number(EXAMPLE, today=TODAY))


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "id_number_format"),
        ("1101051949123100", "id_number_format"),
        ("110105194912310021X", "id_number_format"),
        ("11010519491231002Y", "id_number_format"),
        ("X10105194912310021", "id_number_format"),
        ("11010519491231002１", "id_number_checksum"),
        ("11010519491231002A", "id_number_format"),
        ("11010519491231002 ", "id_number_format"),
        ("110105194912310020", "id_number_checksum"),
        ("11010519491231002x".replace("x", "1"), "id_number_checksum"),
        ("990105194912310029", "id_number_region"),
        ("000105194912310029", "id_number_region"),
        ("110105199002300026", "id_number_birth_date"),
        ("110105199013010026", "id_number_birth_date"),
        ("110105187001010026", "id_number_birth_date"),
    ],
)
def test_impossible_numbers_fail_with_a_specific_reason(raw: str, code: str) -> None:
    assert reason(raw) == code


def test_birth_date_in_the_future_is_refused() -> None:
    future = cn_number(random.Random(3), date(2027, 1, 1), male=True)
    assert reason(future) == "id_number_birth_date"


def test_birth_date_today_is_a_real_date() -> None:
    assert parse_cn_id_number(cn_number(random.Random(3), TODAY, male=True), today=TODAY).birth_date == TODAY


def test_legacy_15_digit_number_is_refused_by_default() -> None:
    assert reason("110105491231002") == "id_number_legacy_refused"


def test_legacy_15_digit_number_is_converted_when_policy_allows() -> None:
    parsed = parse_cn_id_number(
        "110105491231002",
        today=TODAY,
        policy=CnIdPolicy(legacy_numbers=LegacyNumbers.CONVERT),
    )
    assert parsed.number == EXAMPLE
    assert parsed.converted_from_legacy
    assert parsed.birth_date == date(1949, 12, 31)


def test_legacy_number_with_a_letter_is_a_format_error() -> None:
    assert reason("11010549123100X", policy=CnIdPolicy(legacy_numbers=LegacyNumbers.CONVERT)) == "id_number_format"


def test_legacy_number_with_an_impossible_date_is_refused_after_conversion() -> None:
    policy = CnIdPolicy(legacy_numbers=LegacyNumbers.CONVERT)
    assert reason("110105490230002", policy=policy) == "id_number_birth_date"


def test_age_counts_completed_years() -> None:
    assert age_on(date(2008, 11, 2), TODAY) == 17
    assert age_on(date(2008, 11, 1), TODAY) == 18
    assert age_on(date(2004, 2, 29), date(2026, 2, 28)) == 21
    assert age_on(date(2004, 2, 29), date(2026, 3, 1)) == 22


def test_age_limits_come_from_policy() -> None:
    check_age(date(2008, 11, 1), on=TODAY)
    with pytest.raises(InvalidArgument) as info:
        check_age(date(2008, 11, 2), on=TODAY)
    assert info.value.code == "id_number_age"
    with pytest.raises(InvalidArgument):
        check_age(date(1960, 1, 1), on=TODAY)
    check_age(date(1960, 1, 1), on=TODAY, policy=CnIdPolicy(max_age=70))


def test_validate_applies_age_after_parsing() -> None:
    with pytest.raises(InvalidArgument) as info:
        validate_cn_id_number(EXAMPLE, today=TODAY)
    assert info.value.code == "id_number_age"
    assert validate_cn_id_number(EXAMPLE, today=TODAY, policy=CnIdPolicy(max_age=90)).number == EXAMPLE


def test_policy_rejects_inverted_age_limits() -> None:
    with pytest.raises(ValueError):
        CnIdPolicy(min_age=30, max_age=20)


valid_numbers = st.builds(
    lambda province, rest, birth, seq: (province + rest, birth, seq),
    st.sampled_from(sorted(PROVINCES)),
    st.text("0123456789", min_size=4, max_size=4),
    st.dates(date(1900, 1, 1), TODAY),
    st.integers(0, 999),
)


def build(region: str, birth: date, seq: int) -> str:
    first17 = f"{region}{birth:%Y%m%d}{seq:03d}"
    return first17 + check_character(first17)


@given(valid_numbers)
def test_every_generated_valid_number_parses(parts: tuple[str, date, int]) -> None:
    region, birth, seq = parts
    parsed = parse_cn_id_number(build(region, birth, seq), today=TODAY)
    assert parsed.region_code == region
    assert parsed.birth_date == birth
    assert parsed.sex is (Sex.MALE if seq % 2 else Sex.FEMALE)


@given(valid_numbers, st.integers(0, 16), st.integers(1, 9))
def test_any_single_digit_change_is_detected(parts: tuple[str, date, int], pos: int, delta: int) -> None:
    number = build(*parts)
    changed = number[:pos] + str((int(number[pos]) + delta) % 10) + number[pos + 1 :]
    with pytest.raises(InvalidArgument) as info:
        parse_cn_id_number(changed, today=TODAY)
    assert info.value.code in {
        "id_number_checksum",
        "id_number_region",
        "id_number_birth_date",
    }


@given(valid_numbers, st.sampled_from("0123456789X"))
def test_any_other_check_character_is_a_checksum_failure(parts: tuple[str, date, int], check: str) -> None:
    number = build(*parts)
    if check == number[17]:
        return
    with pytest.raises(InvalidArgument) as info:
        parse_cn_id_number(number[:17] + check, today=TODAY)
    assert info.value.code == "id_number_checksum"


@given(valid_numbers, st.integers(0, 16))
def test_swapping_two_adjacent_different_digits_is_detected(parts: tuple[str, date, int], pos: int) -> None:
    number = build(*parts)
    if number[pos] == number[pos + 1] or pos + 1 > 16:
        return
    swapped = number[:pos] + number[pos + 1] + number[pos] + number[pos + 2 :]
    with pytest.raises(InvalidArgument):
        parse_cn_id_number(swapped, today=TODAY)
