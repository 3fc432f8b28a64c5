"""MRZ repair from OCR lines (no OCR engine): only a unique repair that verifies completely is accepted."""

from __future__ import annotations

from datetime import date

import pytest

from idverify.domain.errors import InvalidArgument
from idverify.factors.document.mrz import MrzFormat, parse_mrz
from idverify.ml.ocr_fields import TextBox, mrz_candidates, read_mrz_lines, repair_mrz
from tests.docgen.identities import td3_mrz

TODAY = date(2026, 11, 1)
TD3 = ("P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<10")
TD1 = ("I<UTOD231458907<<<<<<<<<<<<<<<", "7408122F1204159UTO<<<<<<<<<<<6", "ERIKSSON<<ANNA<MARIA<<<<<<<<<<")


def boxes(*lines: str) -> list[TextBox]:
    return [TextBox(line, 0.99, 10, 100 + 50 * i, 900, 140 + 50 * i) for i, line in enumerate(lines)]


def test_letter_o_read_in_digit_fields_and_zero_in_the_state_code_are_repaired() -> None:
    misread = ("P<UT0ERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UT074O8122F12O4159ZE184226B<<<<<1O")
    assert repair_mrz(misread, MrzFormat.TD3, today=TODAY) == TD3


def test_confusion_inside_the_document_number_is_resolved_by_its_check_digit() -> None:
    misread = (TD3[0], TD3[1].replace("L898902C3", "L8989O2C3"))
    assert repair_mrz(misread, MrzFormat.TD3, today=TODAY) == TD3


def test_ambiguous_repair_is_refused() -> None:
    # B read as 8: swapping it back verifies, but so does swapping S for 5 elsewhere (two errors cancel out).
    lines = td3_mrz(surname="LI", given="SI", number="AB1208S5", birth=date(1990, 1, 2), expiry=date(2031, 1, 1))
    misread = (lines[0], lines[1].replace("AB1208S5", "A81208S5"))
    assert repair_mrz(misread, MrzFormat.TD3, today=TODAY) is None
    assert read_mrz_lines(boxes(*misread), today=TODAY) == misread


def test_miscounted_filler_run_is_fixed() -> None:
    misread = (TD3[0][:-3], TD3[1].replace("B<<<<<10", "B<<<<<<10"))
    assert repair_mrz(misread, MrzFormat.TD3, today=TODAY) == TD3


def test_wrong_digit_is_never_repaired_into_a_valid_mrz() -> None:
    misread = (TD3[0], TD3[1].replace("7408122", "7408132"))
    assert repair_mrz(misread, MrzFormat.TD3, today=TODAY) is None
    with pytest.raises(InvalidArgument) as info:
        parse_mrz(read_mrz_lines(boxes(*misread), today=TODAY), today=TODAY)
    assert info.value.code == "mrz_check_digit_birth_date"


def test_broken_composite_digit_is_not_repaired() -> None:
    misread = (TD3[0], TD3[1][:-1] + "1")
    assert repair_mrz(misread, MrzFormat.TD3, today=TODAY) is None


def test_td1_lines_are_found_and_repaired() -> None:
    misread = (TD1[0].replace("D23", "D2E").replace("UTO", "UT0"), TD1[1].replace("740", "74O"), TD1[2])
    assert repair_mrz((misread[0].replace("D2E", "D23"), misread[1], misread[2]), MrzFormat.TD1, today=TODAY) == TD1
    assert read_mrz_lines(boxes("REPUBLIC OF UTOPIA", *TD1), today=TODAY) == TD1


def test_mrz_candidates_ignore_ordinary_text_and_normalise_guillemets() -> None:
    found = mrz_candidates(boxes("PASSPORT 护照", "P<UTOERIKSSON«ANNA<MARIA<<<<<<<<<<<<<<<<<<<", TD3[1]))
    assert found == [TD3[0], TD3[1]]


def test_page_without_mrz_is_unreadable() -> None:
    with pytest.raises(InvalidArgument) as info:
        read_mrz_lines(boxes("PASSPORT", "Surname ZHANG"), today=TODAY)
    assert info.value.code == "document_unreadable"


def test_front_fields_join_split_boxes_and_ignore_background_specks() -> None:
    from idverify.ml.ocr_fields import extract_cn_front

    found = extract_cn_front(
        [
            TextBox("出生", 1.0, 87, 295, 173, 339),
            TextBox("1990", 1.0, 208, 297, 290, 343),
            TextBox("1", 0.7, 301, 305, 310, 335),
            TextBox("0年2月17日", 1.0, 280, 296, 600, 340),
            TextBox("公民身份号码", 1.0, 87, 668, 290, 709),
            TextBox("610000199002170850", 1.0, 409, 659, 1040, 708),
        ]
    )
    assert found.birth_date == "1990年2月17日"
    assert found.id_number == "610000199002170850"


def test_a_sex_that_was_not_read_is_reported_unread_not_taken_from_the_next_label() -> None:
    """When the detector misses the 男/女 value, the 民 of the 民族 label must not become the sex: a fabricated
    value contradicts the ID number and fails a genuine applicant, where an unread one asks for review."""
    from idverify.ml.ocr_fields import extract_cn_front

    found = extract_cn_front([
        TextBox("性别", 1.0, 87, 195, 173, 239),
        TextBox("民族", 1.0, 410, 195, 496, 239),
        TextBox("汉", 1.0, 540, 193, 580, 241),
    ])
    assert found.sex is None
    read = extract_cn_front([TextBox("性别", 1.0, 87, 195, 173, 239), TextBox("女", 1.0, 215, 193, 255, 241),
                             TextBox("民族", 1.0, 410, 195, 496, 239)])
    assert read.sex == "女"


def test_an_ethnicity_keeps_its_chinese_characters_only() -> None:
    from idverify.ml.ocr_fields import extract_cn_front

    found = extract_cn_front([TextBox("民族", 1.0, 410, 195, 496, 239), TextBox("苗EC", 1.0, 540, 193, 640, 241)])
    assert found.ethnicity == "苗"
