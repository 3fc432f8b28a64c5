"""Random synthetic identities: PRC numbers, names, validity periods and TD3 MRZs (standard library only).

Region codes are a province code followed by ``0000``: it passes the province-level check, and no person is ever
registered at province level, so a generated number cannot be a real resident's number.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from idverify.factors.document.cn_id import check_character
from idverify.factors.document.mrz import check_digit
from idverify.factors.document.regions import PROVINCES, RESIDENCE_PERMIT_PROVINCES

MAINLAND = tuple(sorted(code for code in PROVINCES if code not in RESIDENCE_PERMIT_PROVINCES and code != "71"))
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰建国红梅志文辉鹏飞晓东雪琳欣怡子轩浩宇思雨佳俊博"
ETHNICITIES = (
    "汉",
    "汉",
    "汉",
    "汉",
    "壮",
    "回",
    "满",
    "苗",
    "维吾尔",
    "土家",
    "彝",
    "蒙古",
    "藏",
)
STREETS = (
    "人民路",
    "解放大道",
    "建设街",
    "中山路",
    "和平里",
    "幸福小区",
    "光明巷",
    "新华东街",
    "胜利北路",
)


@dataclass(frozen=True)
class CnIdentity:
    name: str
    sex: str  # 男 / 女
    ethnicity: str
    birth_date: date
    address: str
    number: str
    authority: str
    valid_from: date
    valid_until: date | None  # None: 长期

    @property
    def birth_text(self) -> str:
        return f"{self.birth_date.year}年{self.birth_date.month}月{self.birth_date.day}日"

    @property
    def validity_text(self) -> str:
        until = "长期" if self.valid_until is None else self.valid_until.strftime("%Y.%m.%d")
        return f"{self.valid_from:%Y.%m.%d}-{until}"


def cn_number(rng: random.Random, birth: date, *, male: bool, province: str | None = None) -> str:
    """A valid 18-character number with a province-only region code."""
    region = (province or rng.choice(MAINLAND)) + "0000"
    seq = rng.randrange(0, 100) * 10 + rng.choice((1, 3, 5, 7, 9) if male else (0, 2, 4, 6, 8))
    first17 = f"{region}{birth:%Y%m%d}{seq:03d}"
    return first17 + check_character(first17)


def random_birth(rng: random.Random, today: date, min_age: int = 19, max_age: int = 64) -> date:
    start = date(today.year - max_age, 1, 1)
    end = date(today.year - min_age, 1, 1)
    return start + timedelta(days=rng.randrange((end - start).days))


def random_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))


def cn_identity(rng: random.Random, today: date) -> CnIdentity:
    """A person whose card is currently valid, with a validity period that follows the age rule."""
    birth = random_birth(rng, today)
    male = rng.random() < 0.5
    number = cn_number(rng, birth, male=male)
    issued = today - timedelta(days=rng.randrange(30, 365 * 4))
    age = issued.year - birth.year - ((issued.month, issued.day) < (birth.month, birth.day))
    years = 10 if age < 26 else 20 if age < 46 else None
    until = None if years is None else issued.replace(year=issued.year + years, day=min(issued.day, 28))
    issued = issued.replace(day=min(issued.day, 28))
    province = number[:2]
    city = rng.choice(("市", "县"))
    return CnIdentity(
        name=random_name(rng),
        sex="男" if male else "女",
        ethnicity=rng.choice(ETHNICITIES),
        birth_date=birth,
        address=f"{PROVINCES[province]}{rng.choice('东南西北')}城{city}{rng.choice(STREETS)}{rng.randrange(1, 300)}号",
        number=number,
        authority=f"{rng.choice('东南西北')}城{city}公安局",
        valid_from=issued,
        valid_until=until,
    )


def td3_mrz(
    *,
    surname: str,
    given: str,
    number: str,
    birth: date,
    expiry: date,
    sex: str = "F",
    state: str = "UTO",
    optional: str = "",
) -> tuple[str, str]:
    """Two 44-character TD3 lines with correct check digits."""
    names = (surname.replace(" ", "<") + "<<" + given.replace(" ", "<")).upper()
    line1 = f"P<{state}{names}"[:44].ljust(44, "<")
    doc = number.ljust(9, "<")[:9]
    opt = optional.ljust(14, "<")[:14]
    opt_cd = "<" if set(opt) == {"<"} else check_digit(opt)
    b, e = f"{birth:%y%m%d}", f"{expiry:%y%m%d}"
    body = f"{doc}{check_digit(doc)}{state}{b}{check_digit(b)}{sex}{e}{check_digit(e)}{opt}{opt_cd}"
    composite = check_digit(body[0:10] + body[13:20] + body[21:43])
    return line1, body + composite
