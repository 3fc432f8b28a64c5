"""Name comparison: NFKC, full-width, spaces and middle dots; MRZ names in either order; pinyin via a romanizer."""

from __future__ import annotations

import pytest

from idverify.factors.document.names import (
    has_han,
    latin_spellings,
    mrz_name_match,
    names_match,
    normalise_name,
)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("张三", "张 三"),
        ("张三", "张　三"),
        ("阿卜杜拉·艾力", "阿卜杜拉・艾力"),
        ("阿卜杜拉·艾力", "阿卜杜拉•艾力"),
        ("阿卜杜拉·艾力", "阿卜杜拉艾力"),
        ("ＡＮＮＡ Ｍａｒｉａ", "anna maria"),
        ("Anna-Maria", "ANNA MARIA"),
    ],
)
def test_equivalent_spellings_match(a: str, b: str) -> None:
    assert names_match(a, b)


@pytest.mark.parametrize(("a", "b"), [("张三", "张山"), ("张三", ""), ("", ""), ("张三", "三张")])
def test_different_or_empty_names_do_not_match(a: str, b: str) -> None:
    assert not names_match(a, b)


def test_normalise_name_folds_case_and_width() -> None:
    assert normalise_name(" Ｅｒｉｋｓｓｏｎ ") == "eriksson"


def test_han_detection() -> None:
    assert has_han("张三")
    assert not has_han("ZHANG SAN")


def test_latin_spellings_follow_icao_transliteration() -> None:
    assert latin_spellings("Müller") == frozenset({"MUELLER", "MULLER"})
    assert latin_spellings("José") == frozenset({"JOSE"})
    assert latin_spellings("Straße") == frozenset({"STRASSE"})
    assert latin_spellings("Петров") == frozenset()


@pytest.mark.parametrize("typed", ["Anna Maria Eriksson", "ERIKSSON ANNA MARIA", "anna-maria eriksson"])
def test_latin_name_matches_mrz_in_either_order(typed: str) -> None:
    assert mrz_name_match("ERIKSSON", "ANNA MARIA", typed) is True


def test_latin_name_with_a_different_letter_does_not_match() -> None:
    assert mrz_name_match("ERIKSSON", "ANNA MARIA", "Anna Maria Eriksen") is False


def test_chinese_name_without_romanizer_cannot_be_told() -> None:
    assert mrz_name_match("ZHANG", "SAN", "张三") is None


def test_chinese_name_matches_through_romanizer_with_u_umlaut_variants() -> None:
    def romanize(name: str) -> frozenset[str]:
        return {
            "吕小龙": frozenset({"LVXIAOLONG"}),
            "张三": frozenset({"ZHANGSAN"}),
        }.get(name, frozenset())

    assert mrz_name_match("LYU", "XIAOLONG", "吕小龙", romanizer=romanize) is True
    assert mrz_name_match("LU", "XIAOLONG", "吕 小龙", romanizer=romanize) is True
    assert mrz_name_match("ZHANG", "SAN", "张三", romanizer=romanize) is True
    assert mrz_name_match("ZHANG", "SHAN", "张三", romanizer=romanize) is False
    assert mrz_name_match("ZHANG", "SAN", "李四", romanizer=romanize) is None


def test_truncated_mrz_name_matches_a_longer_typed_name() -> None:
    assert (
        mrz_name_match(
            "WOLFESCHLEGELSTEINHAUSENBERGERDORFF",
            "HUBE",
            "Hubert Wolfeschlegelsteinhausenbergerdorff",
            truncated=True,
        )
        is True
    )
    assert (
        mrz_name_match(
            "WOLFESCHLEGELSTEINHAUSENBERGERDORFF",
            "HUBE",
            "Hubert Wolfeschlegel",
            truncated=True,
        )
        is False
    )
    assert mrz_name_match("WOLFESCHLEGELSTEIN", "", "Wolfeschlegelsteinhausen", truncated=True) is True
