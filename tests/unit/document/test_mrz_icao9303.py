"""ICAO 9303 machine-readable zones: the specimens of Parts 4, 5 and 6 and every check digit broken in turn."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from idverify.domain.errors import InvalidArgument
from idverify.factors.document.cn_id import Sex
from idverify.factors.document.mrz import MrzFormat, check_digit, parse_mrz
from tests.docgen.identities import td3_mrz

TODAY = date(2026, 11, 1)
TD3 = (
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
)
TD1 = (
    "I<UTOD231458907<<<<<<<<<<<<<<<",
    "7408122F1204159UTO<<<<<<<<<<<6",
    "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
)
TD2 = ("I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<", "D231458907UTO7408122F1204159<<<<<<<6")


def reason(lines: tuple[str, ...] | list[str], today: date = TODAY) -> str:
    with pytest.raises(InvalidArgument) as info:
        parse_mrz(lines, today=today)
    return info.value.code


def replace(line: str, pos: int, ch: str) -> str:
    return line[:pos] + ch + line[pos + 1 :]


def other_digit(ch: str) -> str:
    return str((int(ch) + 1) % 10)


def test_td3_specimen_parses_every_field() -> None:
    mrz = parse_mrz(TD3, today=TODAY)
    assert mrz.format is MrzFormat.TD3
    assert mrz.document_code == "P"
    assert mrz.issuing_state == "UTO"
    assert mrz.primary_identifier == "ERIKSSON"
    assert mrz.secondary_identifier == "ANNA MARIA"
    assert mrz.document_number == "L898902C3"
    assert mrz.nationality == "UTO"
    assert mrz.birth_date == date(1974, 8, 12)
    assert mrz.sex is Sex.FEMALE
    assert mrz.expiry_date == date(2012, 4, 15)
    assert mrz.optional_data == "ZE184226B"
    assert not mrz.names_truncated


def test_td1_specimen_parses_every_field() -> None:
    mrz = parse_mrz(TD1, today=TODAY)
    assert mrz.format is MrzFormat.TD1
    assert (mrz.document_code, mrz.issuing_state, mrz.nationality) == (
        "I",
        "UTO",
        "UTO",
    )
    assert mrz.document_number == "D23145890"
    assert (mrz.birth_date, mrz.expiry_date, mrz.sex) == (
        date(1974, 8, 12),
        date(2012, 4, 15),
        Sex.FEMALE,
    )
    assert (mrz.primary_identifier, mrz.secondary_identifier) == (
        "ERIKSSON",
        "ANNA MARIA",
    )
    assert (mrz.optional_data, mrz.optional_data_2) == ("", "")


def test_td2_specimen_parses_every_field() -> None:
    mrz = parse_mrz(TD2, today=TODAY)
    assert mrz.format is MrzFormat.TD2
    assert mrz.document_number == "D23145890"
    assert (mrz.primary_identifier, mrz.secondary_identifier) == (
        "ERIKSSON",
        "ANNA MARIA",
    )
    assert (mrz.birth_date, mrz.expiry_date) == (date(1974, 8, 12), date(2012, 4, 15))


def test_surrounding_whitespace_is_ignored() -> None:
    assert parse_mrz([" " + TD3[0] + "\n", TD3[1] + " "], today=TODAY).document_number == "L898902C3"


def test_check_digit_of_the_specimen_fields() -> None:
    assert check_digit("L898902C3") == "6"
    assert check_digit("740812") == "2"
    assert check_digit("120415") == "9"
    assert check_digit("ZE184226B<<<<<") == "1"


def test_repr_hides_names_and_numbers() -> None:
    text = repr(parse_mrz(TD3, today=TODAY))
    assert "ERIKSSON" not in text
    assert "L898902C3" not in text


@pytest.mark.parametrize(
    ("lines", "line", "pos", "code"),
    [
        (TD3, 1, 9, "mrz_check_digit_document_number"),
        (TD3, 1, 19, "mrz_check_digit_birth_date"),
        (TD3, 1, 27, "mrz_check_digit_expiry"),
        (TD3, 1, 42, "mrz_check_digit_optional"),
        (TD3, 1, 43, "mrz_check_digit_composite"),
        (TD1, 0, 14, "mrz_check_digit_document_number"),
        (TD1, 1, 6, "mrz_check_digit_birth_date"),
        (TD1, 1, 14, "mrz_check_digit_expiry"),
        (TD1, 1, 29, "mrz_check_digit_composite"),
        (TD2, 1, 9, "mrz_check_digit_document_number"),
        (TD2, 1, 19, "mrz_check_digit_birth_date"),
        (TD2, 1, 27, "mrz_check_digit_expiry"),
        (TD2, 1, 35, "mrz_check_digit_composite"),
    ],
)
def test_each_broken_check_digit_fails_with_its_own_reason(
    lines: tuple[str, ...], line: int, pos: int, code: str
) -> None:
    broken = list(lines)
    broken[line] = replace(broken[line], pos, other_digit(broken[line][pos]))
    assert reason(broken) == code


@pytest.mark.parametrize(
    ("line", "pos", "ch", "code"),
    [
        (1, 2, "1", "mrz_check_digit_document_number"),
        (1, 14, "9", "mrz_check_digit_birth_date"),
        (1, 23, "1", "mrz_check_digit_expiry"),
        (1, 30, "F", "mrz_check_digit_optional"),
    ],
)
def test_a_changed_field_is_reported_against_that_field(line: int, pos: int, ch: str, code: str) -> None:
    broken = list(TD3)
    broken[line] = replace(broken[line], pos, ch)
    assert reason(broken) == code


def test_changed_sex_is_caught_only_by_the_composite_digit() -> None:
    broken = [TD3[0], replace(TD3[1], 20, "M")]
    assert parse_mrz(broken, today=TODAY).sex is Sex.MALE  # sex is outside every check digit, by design of 9303
    td1 = [TD1[0], replace(TD1[1], 18, "X"), TD1[2]]
    assert reason(td1) == "mrz_check_digit_composite"


@pytest.mark.parametrize(
    "lines",
    [
        (),
        (TD3[0],),
        (TD3[0], TD3[1][:-1]),
        (TD3[0] + "<", TD3[1] + "<"),
        (TD3[0], TD3[1].lower()),
        (TD3[0].replace("P<", "P "), TD3[1]),
        (TD1[0], TD1[1]),
        ("V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", TD3[1]),
        ("P<UTO<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<<<<<<<<<", TD3[1]),
        ("P<UTOERIKSS0N<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", TD3[1]),
    ],
)
def test_wrong_shape_characters_or_document_kind_is_a_format_error(
    lines: tuple[str, ...],
) -> None:
    assert reason(lines) == "mrz_format"


def test_unknown_state_code_is_refused() -> None:
    assert reason(("P<QQQERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", TD3[1])) == "mrz_country_code"


def test_germany_one_letter_code_with_fillers_is_accepted() -> None:
    lines = td3_mrz(
        surname="MUSTERMANN",
        given="ERIKA",
        number="C01X00T47",
        birth=date(1983, 8, 12),
        expiry=date(2031, 10, 31),
        state="D<<",
    )
    mrz = parse_mrz(lines, today=TODAY)
    assert (mrz.issuing_state, mrz.nationality) == ("D", "D")


def test_invalid_sex_character_is_refused() -> None:
    lines = list(
        td3_mrz(
            surname="A",
            given="B",
            number="X1",
            birth=date(1990, 1, 1),
            expiry=date(2030, 1, 1),
        )
    )
    lines[1] = replace(lines[1], 20, "Q")
    assert reason(lines) == "mrz_sex"


def test_unspecified_sex_is_none() -> None:
    lines = td3_mrz(
        surname="A",
        given="B",
        number="X1",
        birth=date(1990, 1, 1),
        expiry=date(2030, 1, 1),
        sex="<",
    )
    assert parse_mrz(lines, today=TODAY).sex is None


def test_impossible_birth_date_with_a_matching_check_digit_is_refused() -> None:
    lines = td3_mrz(
        surname="A",
        given="B",
        number="X1",
        birth=date(1990, 2, 1),
        expiry=date(2030, 1, 1),
    )
    body = lines[1]
    fake = "900230"
    patched = body[:13] + fake + check_digit(fake) + body[20:43]
    patched += check_digit(patched[0:10] + patched[13:20] + patched[21:43])
    assert reason((lines[0], patched)) == "mrz_birth_date"


def test_impossible_expiry_date_with_a_matching_check_digit_is_refused() -> None:
    lines = td3_mrz(
        surname="A",
        given="B",
        number="X1",
        birth=date(1990, 2, 1),
        expiry=date(2030, 1, 1),
    )
    fake = "301301"
    patched = lines[1][:21] + fake + check_digit(fake) + lines[1][28:43]
    patched += check_digit(patched[0:10] + patched[13:20] + patched[21:43])
    assert reason((lines[0], patched)) == "mrz_expiry_date"


@pytest.mark.parametrize(
    ("birth", "expected"),
    [
        (date(2001, 3, 4), date(2001, 3, 4)),
        (date(1999, 3, 4), date(1999, 3, 4)),
        (date(1930, 5, 6), date(1930, 5, 6)),
    ],
)
def test_birth_year_is_19xx_when_20xx_would_be_in_the_future(birth: date, expected: date) -> None:
    lines = td3_mrz(surname="A", given="B", number="X1", birth=birth, expiry=date(2030, 1, 1))
    assert parse_mrz(lines, today=TODAY).birth_date == expected


def test_birth_year_depends_on_the_injected_today() -> None:
    lines = td3_mrz(
        surname="A",
        given="B",
        number="X1",
        birth=date(2020, 1, 1),
        expiry=date(2030, 1, 1),
    )
    assert parse_mrz(lines, today=date(2026, 1, 1)).birth_date == date(2020, 1, 1)
    assert parse_mrz(lines, today=date(2019, 1, 1)).birth_date == date(1920, 1, 1)


def test_expiry_lies_within_fifty_years_of_today() -> None:
    lines = td3_mrz(
        surname="A",
        given="B",
        number="X1",
        birth=date(1950, 1, 1),
        expiry=date(1999, 6, 1),
    )
    assert parse_mrz(lines, today=TODAY).expiry_date == date(1999, 6, 1)
    lines = td3_mrz(
        surname="A",
        given="B",
        number="X1",
        birth=date(1950, 1, 1),
        expiry=date(2036, 6, 1),
    )
    assert parse_mrz(lines, today=TODAY).expiry_date == date(2036, 6, 1)


def test_names_with_several_parts_and_no_given_name() -> None:
    lines = td3_mrz(
        surname="VAN DER BERG",
        given="JAN PIETER KLAAS",
        number="X1",
        birth=date(1980, 1, 1),
        expiry=date(2030, 1, 1),
        state="NLD",
    )
    mrz = parse_mrz(lines, today=TODAY)
    assert (mrz.primary_identifier, mrz.secondary_identifier) == (
        "VAN DER BERG",
        "JAN PIETER KLAAS",
    )
    only = td3_mrz(
        surname="SUKARNO",
        given="",
        number="X1",
        birth=date(1980, 1, 1),
        expiry=date(2030, 1, 1),
        state="IDN",
    )
    assert parse_mrz(only, today=TODAY).secondary_identifier == ""


def test_a_full_name_field_is_marked_truncated() -> None:
    lines = td3_mrz(
        surname="WOLFESCHLEGELSTEINHAUSENBERGERDORFF",
        given="HUBERT BLAINE",
        number="X1",
        birth=date(1980, 1, 1),
        expiry=date(2030, 1, 1),
    )
    assert parse_mrz(lines, today=TODAY).names_truncated


def test_td1_long_document_number_continues_in_optional_data() -> None:
    number = "D23145890734"
    head, tail = number[:9], number[9:]
    line1 = f"I<UTO{head}<{tail}{check_digit(number)}".ljust(30, "<")
    line2 = "7408122F1204159UTO<<<<<<<<<<<"
    line2 += check_digit(line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29])
    mrz = parse_mrz((line1, line2, TD1[2]), today=TODAY)
    assert mrz.document_number == number
    broken = replace(line1, 17, other_digit(line1[17]))
    assert reason((broken, line2, TD1[2])) == "mrz_check_digit_document_number"


def test_unused_personal_number_may_have_zero_as_check_digit() -> None:
    lines = td3_mrz(
        surname="A",
        given="B",
        number="X1",
        birth=date(1990, 1, 1),
        expiry=date(2030, 1, 1),
    )
    zero = lines[1][:42] + "0"
    zero += check_digit(zero[0:10] + zero[13:20] + zero[21:43])
    assert parse_mrz((lines[0], zero), today=TODAY).optional_data == ""


mrz_text = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=9)


@given(
    mrz_text,
    st.dates(date(1930, 1, 1), date(2026, 10, 1)),
    st.dates(date(2000, 1, 1), date(2060, 1, 1)),
    st.sampled_from("MF<"),
)
def test_generated_td3_round_trips(number: str, birth: date, expiry: date, sex: str) -> None:
    lines = td3_mrz(
        surname="ZHANG",
        given="SAN",
        number=number,
        birth=birth,
        expiry=expiry,
        sex=sex,
        state="CHN",
    )
    mrz = parse_mrz(lines, today=TODAY)
    assert (mrz.document_number, mrz.birth_date, mrz.expiry_date) == (
        number,
        birth,
        expiry,
    )


@given(st.text("0123456789", min_size=9, max_size=9), st.integers(0, 43), st.integers(1, 9))
def test_any_single_digit_substitution_in_line_two_is_detected(number: str, pos: int, delta: int) -> None:
    # Weights 7, 3 and 1 are coprime to 10, so changing one digit always changes a check digit. (A letter whose
    # value equals a digit mod 10, e.g. J=19 and 9, is not detected by the scheme: that is ICAO's design.)
    lines = td3_mrz(
        surname="ZHANG",
        given="SAN",
        number=number,
        birth=date(1990, 1, 2),
        expiry=date(2030, 1, 1),
        optional="1234567890",
    )
    if not lines[1][pos].isdigit():
        return
    changed = replace(lines[1], pos, str((int(lines[1][pos]) + delta) % 10))
    with pytest.raises(InvalidArgument):
        parse_mrz((lines[0], changed), today=TODAY)
