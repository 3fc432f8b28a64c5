"""From OCR text boxes to document fields: PRC ID card front and back, MRZ lines with a check-digit-guided repair.

Pure Python (no numpy): the OCR adapter turns its engine's output into :class:`TextBox` values and calls these.
Values are extracted as printed and never corrected, except MRZ characters in the one way ICAO's check digits can
prove: a repair is returned only when the repaired zone verifies completely and no other repair would.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

from idverify.domain.errors import InvalidArgument
from idverify.factors.document.fields import CnIdCardText
from idverify.factors.document.mrz import MrzFormat, parse_mrz

FRONT_LABELS: Final = ("姓名", "性别", "民族", "出生", "住址", "公民身份号码")
BACK_LABELS: Final = ("签发机关", "有效期限", "居民身份证", "中华人民共和国")
_NUMBER: Final = re.compile(r"[0-9Xx]{15,18}")
_BIRTH: Final = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日?")
_VALIDITY: Final = re.compile(r"\d{4}\.?\d{2}\.?\d{2}[-一—–~]*(?:\d{4}\.?\d{2}\.?\d{2}|长期)")
_MRZ_CHARS: Final = re.compile(r"^[A-Z0-9<]+$")
_MRZ_LENGTHS: Final = {MrzFormat.TD1: (3, 30), MrzFormat.TD2: (2, 36), MrzFormat.TD3: (2, 44)}
# Confusions OCR makes between MRZ letters and digits, each way.
_TO_DIGIT: Final = {"O": "0", "Q": "0", "D": "0", "I": "1", "L": "1", "B": "8", "S": "5", "Z": "2", "G": "6"}
_TO_LETTER: Final = {"0": "O", "1": "I", "8": "B", "5": "S", "2": "Z", "6": "G"}
_SWAP: Final = {"O": "0", "0": "O", "I": "1", "1": "I", "B": "8", "8": "B", "S": "5", "5": "S", "Z": "2", "2": "Z"}
_MAX_AMBIGUOUS: Final = 12


@dataclass(frozen=True, slots=True)
class TextBox:
    """One recognised text line: text, confidence and its axis-aligned bounds in pixels."""

    text: str
    score: float
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def compact(self) -> str:
        return "".join(unicodedata.normalize("NFKC", self.text).split())

    @property
    def cy(self) -> float:
        return (self.y0 + self.y1) / 2

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    @property
    def width(self) -> float:
        return self.x1 - self.x0


def _same_line(a: TextBox, b: TextBox) -> bool:
    overlap = min(a.y1, b.y1) - max(a.y0, b.y0)
    return overlap >= 0.4 * min(a.height, b.height)


def _find(boxes: Sequence[TextBox], label: str) -> TextBox | None:
    return next((b for b in boxes if label in b.compact), None)


def _line_after(boxes: Sequence[TextBox], label: str) -> str | None:
    """The text after ``label`` on its line: the rest of the label's box plus boxes to its right."""
    anchor = _find(boxes, label)
    if anchor is None:
        return None
    rest = anchor.compact.split(label, 1)[1]
    # Boxes much shorter than the label are background specks read as text (guilloche lines read as "1").
    right = sorted(
        (
            b
            for b in boxes
            if b is not anchor and _same_line(anchor, b) and b.x0 > anchor.x0 and b.height >= 0.75 * anchor.height
        ),
        key=lambda b: b.x0,
    )
    text = _join(rest, anchor, right)
    return text or None


def _join(text: str, previous: TextBox, boxes: Sequence[TextBox]) -> str:
    """Concatenate boxes left to right. Two boxes the detector cut from one line may overlap and both contain the
    character at the cut: drop the repeat when the boxes overlap horizontally."""
    for box in boxes:
        part = box.compact
        if text and part and part[0] == text[-1] and box.x0 < previous.x1:
            part = part[1:]
        text += part
        previous = box
    return text


def anchors_found(boxes: Sequence[TextBox], labels: Iterable[str]) -> list[TextBox]:
    return [box for label in labels if (box := _find(boxes, label)) is not None]


def upright(boxes: Sequence[TextBox], top: str, bottom: str) -> bool | None:
    """True when the ``top`` label is above ``bottom`` and both lie flat; None when either is missing."""
    a, b = _find(boxes, top), _find(boxes, bottom)
    if a is None or b is None:
        return None
    return a.width > a.height and b.width > b.height and a.cy < b.cy


def extract_cn_front(boxes: Sequence[TextBox]) -> CnIdCardText:
    """Fields of a card front. The number comes from the 公民身份号码 line, else from any 15-18 character run."""
    name = _line_after(boxes, "姓名")
    sex_line = _line_after(boxes, "性别") or ""
    sex = next((ch for ch in sex_line if ch in "男女"), None)
    ethnicity_line = _line_after(boxes, "民族")
    # Ethnic group names are Chinese characters only; Latin letters or digits beside them are background marks.
    ethnicity_chars = "".join(ch for ch in ethnicity_line or "" if "\u4e00" <= ch <= "\u9fff")
    ethnicity = ethnicity_chars[:4] or None
    birth_line = _line_after(boxes, "出生")
    birth = None
    if birth_line:
        m = _BIRTH.search(birth_line)
        birth = f"{m[1]}年{int(m[2])}月{int(m[3])}日" if m else birth_line
    return CnIdCardText(
        name=name,
        # Only 男 or 女 is a sex; anything else (e.g. the 民 of the 民族 label when the value was not detected)
        # is reported as unread, so the checks ask for review instead of declaring a contradiction.
        sex=sex,
        ethnicity=ethnicity,
        birth_date=birth,
        address=_address(boxes),
        id_number=_id_number(boxes),
    )


def _id_number(boxes: Sequence[TextBox]) -> str | None:
    after = _line_after(boxes, "公民身份号码")
    if after and (m := _NUMBER.search(after)):
        return m[0]
    runs = [(m[0], b.score) for b in boxes for m in _NUMBER.finditer(b.compact)]
    return max(runs, key=lambda r: (len(r[0]), r[1]))[0] if runs else None


def _address(boxes: Sequence[TextBox]) -> str | None:
    label = _find(boxes, "住址")
    if label is None:
        return None
    stop = _find(boxes, "公民身份号码")
    bottom = stop.y0 if stop is not None else float("inf")
    first = _line_after(boxes, "住址") or ""
    below = [
        b
        for b in boxes
        if b.cy > label.y1
        and b.y1 <= bottom + 0.2 * label.height
        and b.x0 > label.x1 - 0.2 * label.width
        and not _NUMBER.fullmatch(b.compact)
    ]
    text = first + "".join(b.compact for b in sorted(below, key=lambda b: (round(b.cy / max(label.height, 1)), b.x0)))
    return text or None


def extract_cn_back(boxes: Sequence[TextBox]) -> CnIdCardText:
    authority = _line_after(boxes, "签发机关")
    validity = _line_after(boxes, "有效期限")
    if validity is None or not _VALIDITY.search(validity):
        found = next((m[0] for b in boxes if (m := _VALIDITY.search(b.compact))), None)
        validity = found or validity
    return CnIdCardText(issuing_authority=authority, validity=validity)


# ---- MRZ ------------------------------------------------------------------------------------------------------


def mrz_candidates(boxes: Sequence[TextBox]) -> list[str]:
    """Lines that look like MRZ lines, top to bottom, normalised (upper case, no spaces, « as <<)."""
    out = []
    for box in sorted(boxes, key=lambda b: b.cy):
        text = box.compact.upper().replace("«", "<<").replace("‹", "<")
        if len(text) >= 25 and text.count("<") >= 1 and _MRZ_CHARS.match(text):
            out.append(text)
    return out


def read_mrz_lines(boxes: Sequence[TextBox], *, today: date) -> tuple[str, ...]:
    """The MRZ of a page: repaired when a unique verifying repair exists, else as read (so the decision can name
    the failing check digit). Raises ``InvalidArgument("document_unreadable")`` when no MRZ-like lines exist."""
    lines = mrz_candidates(boxes)
    if len(lines) < 2:
        raise InvalidArgument("document_unreadable", "no machine-readable zone was found")
    fmt = _guess_format(lines)
    count = _MRZ_LENGTHS[fmt][0]
    chosen = tuple(lines[-count:])
    repaired = repair_mrz(chosen, fmt, today=today)
    return repaired if repaired is not None else chosen


def _guess_format(lines: Sequence[str]) -> MrzFormat:
    last = lines[-3:] if len(lines) >= 3 else lines[-2:]
    if len(last) == 3 and all(abs(len(x) - 30) <= 2 for x in last):
        return MrzFormat.TD1
    mean = sum(len(x) for x in lines[-2:]) / 2
    return MrzFormat.TD2 if abs(mean - 36) < abs(mean - 44) else MrzFormat.TD3


def _field_types(fmt: MrzFormat) -> tuple[str, ...]:
    """Per line, a type per position: N digit, A letter or filler, X either (check digits are N)."""
    if fmt is MrzFormat.TD3:
        return ("A" * 44, "X" * 9 + "N" + "AAA" + "N" * 7 + "A" + "N" * 7 + "X" * 14 + "NN")
    if fmt is MrzFormat.TD2:
        return ("A" * 36, "X" * 9 + "X" + "AAA" + "N" * 7 + "A" + "N" * 7 + "X" * 7 + "N")
    return ("AAAAA" + "X" * 25, "N" * 7 + "A" + "N" * 7 + "AAA" + "X" * 11 + "N", "A" * 30)


def _fit_length(line: str, length: int) -> str:
    """Fix a wrong count of fillers: grow or shrink the longest run of ``<`` (OCR miscounts long runs)."""
    delta = length - len(line)
    if delta == 0:
        return line
    runs = [(m.end() - m.start(), m.start(), m.end()) for m in re.finditer(r"<{2,}", line)]
    if not runs:
        return line
    size, start, end = max(runs)
    if size + delta < 1:
        return line
    return line[:start] + "<" * (size + delta) + line[end:]


def repair_mrz(lines: Sequence[str], fmt: MrzFormat, *, today: date) -> tuple[str, ...] | None:
    """A repaired MRZ that parses and verifies, or None. Letters in digit-only fields become digits and digits in
    letter-only fields letters; in mixed fields O/0, I/1, B/8, S/5, Z/2 are swapped, fewest swaps first, and a
    repair is accepted only when exactly one combination with that many swaps verifies."""
    count, length = _MRZ_LENGTHS[fmt]
    if len(lines) != count:
        return None
    fitted = [_fit_length(line, length) for line in lines]
    if any(len(line) != length for line in fitted):
        return None
    typed: list[list[str]] = []
    for line, kinds in zip(fitted, _field_types(fmt), strict=True):
        typed.append(
            [
                _TO_DIGIT.get(ch, ch) if k == "N" else _TO_LETTER.get(ch, ch) if k == "A" else ch
                for ch, k in zip(line, kinds, strict=True)
            ]
        )
    ambiguous = [
        (i, j)
        for i, kinds in enumerate(_field_types(fmt))
        for j, k in enumerate(kinds)
        if k == "X" and typed[i][j] in _SWAP
    ]
    if len(ambiguous) > _MAX_AMBIGUOUS:
        ambiguous = []
    # Fewest changes first; at the first count where something verifies, accept only a unique candidate.
    for changes in range(len(ambiguous) + 1):
        found: list[tuple[str, ...]] = []
        for flipped in itertools.combinations(ambiguous, changes):
            chars = [row[:] for row in typed]
            for i, j in flipped:
                chars[i][j] = _SWAP[chars[i][j]]
            candidate = tuple("".join(row) for row in chars)
            try:
                parse_mrz(candidate, today=today)
            except InvalidArgument:
                continue
            found.append(candidate)
        if found:
            return found[0] if len(found) == 1 else None
    return None


# ---- pinyin ---------------------------------------------------------------------------------------------------


class PypinyinRomanizer:
    """Latin spellings of a Chinese name via pypinyin (MIT), every reading of polyphonic characters, bounded.

    Satisfies :class:`idverify.factors.document.names.Romanizer`. pypinyin is imported on first use.
    """

    def __init__(self, max_spellings: int = 64) -> None:
        self._max = max_spellings

    def __call__(self, name: str) -> frozenset[str]:
        from pypinyin import Style, pinyin

        readings = pinyin(name, style=Style.NORMAL, heteronym=True, errors="ignore")
        if len(readings) != len(name):
            return frozenset()
        out: set[str] = set()
        for combo in itertools.product(*readings):
            out.add("".join(combo).upper())
            if len(out) >= self._max:
                break
        return frozenset(out)
