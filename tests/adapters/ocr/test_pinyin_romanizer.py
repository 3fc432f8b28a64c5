"""pypinyin behind the Romanizer port: Chinese names against MRZ names, polyphonic surnames included."""

from __future__ import annotations

import pytest

from idverify.factors.document.names import mrz_name_match
from idverify.ml.ocr_fields import PypinyinRomanizer

pytest.importorskip("pypinyin")


def test_plain_name_romanizes_to_one_spelling() -> None:
    assert PypinyinRomanizer()("张三") == frozenset({"ZHANGSAN"})


def test_polyphonic_characters_give_every_reading() -> None:
    assert "ZENGGUOFAN" in PypinyinRomanizer()("曾国藩")


@pytest.mark.parametrize(
    ("primary", "secondary", "name", "expected"),
    [
        ("ZHANG", "SAN", "张三", True),
        ("LYU", "XIAOLONG", "吕小龙", True),
        ("SHAN", "TIANFANG", "单田芳", True),
        ("LI", "SI", "张三", False),
    ],
)
def test_mrz_names_match_chinese_names_through_pinyin(primary: str, secondary: str, name: str, expected: bool) -> None:
    assert mrz_name_match(primary, secondary, name, romanizer=PypinyinRomanizer()) is expected


def test_non_chinese_characters_cannot_be_romanized() -> None:
    assert PypinyinRomanizer()("张A") == frozenset()
