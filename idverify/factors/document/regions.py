"""Province-level administrative division codes of GB/T 2260, as used in the first two digits of GB 11643 numbers.

Only the province level is checked. A county-level table was not adopted: the one PyPI package that ships it
(``gb2260`` 0.4.1, 2015) is years out of date, and a number keeps the county code of its first registration even
after that county is merged or renamed, so a current table would wrongly refuse older numbers. The two digits
below are stable since 1988 (Chongqing 50 since 1997) and cover every number issued on the mainland, plus the
codes used by the residence permits for Hong Kong, Macao and Taiwan residents (81, 82, 83).

Written from the published list of province-level divisions; names are for operators, not for matching.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

PROVINCES: Final = MappingProxyType(
    {
        "11": "北京市",
        "12": "天津市",
        "13": "河北省",
        "14": "山西省",
        "15": "内蒙古自治区",
        "21": "辽宁省",
        "22": "吉林省",
        "23": "黑龙江省",
        "31": "上海市",
        "32": "江苏省",
        "33": "浙江省",
        "34": "安徽省",
        "35": "福建省",
        "36": "江西省",
        "37": "山东省",
        "41": "河南省",
        "42": "湖北省",
        "43": "湖南省",
        "44": "广东省",
        "45": "广西壮族自治区",
        "46": "海南省",
        "50": "重庆市",
        "51": "四川省",
        "52": "贵州省",
        "53": "云南省",
        "54": "西藏自治区",
        "61": "陕西省",
        "62": "甘肃省",
        "63": "青海省",
        "64": "宁夏回族自治区",
        "65": "新疆维吾尔自治区",
        "71": "台湾省",
        "81": "香港特别行政区",
        "82": "澳门特别行政区",
        "83": "台湾居民居住证",
    }
)

#: Codes that appear only on residence permits (港澳台居民居住证), never on a resident identity card.
RESIDENCE_PERMIT_PROVINCES: Final = frozenset({"81", "82", "83"})


def is_known_province(code: str) -> bool:
    """True when ``code`` (two digits) is a province-level code a GB 11643 number may start with."""
    return code in PROVINCES


def province_name(code: str) -> str | None:
    """The province-level division's name, or None for an unknown code."""
    return PROVINCES.get(code)
