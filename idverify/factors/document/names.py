"""Comparing personal names as typed by an applicant, printed on a card and written in an MRZ.

Printed and typed names compare after Unicode NFKC (full-width to half-width), case folding, and removing spaces
and the middle dots that separate the parts of minority and foreign names (``·`` ``・`` ``•`` and relatives).

MRZ names are upper-case Latin letters. A Latin name matches when its letters (diacritics transliterated the ICAO
way, e.g. ``Ü`` -> ``UE`` or ``U``) equal the MRZ's surname + given names in either order. A Chinese name matches
an MRZ only through a :class:`Romanizer` (an adapter over a pinyin dictionary); without one, Chinese names are
compared to typed Latin names only and the comparison reports "cannot tell".
"""

from __future__ import annotations

import itertools
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Final, Protocol

_SEPARATORS: Final = frozenset(
    " \t\u00a0\u3000-'.,\u00b7\u30fb\u2022\u2027\u2219\u22c5\u0387\u16eb\u2e31\u318d\u02d1\u05bc\u00b8<"
)
# ICAO 9303 Part 3 transliterations that are not a plain "drop the accent".
_TRANSLIT: Final = {
    "Ä": ("AE", "A"),
    "Ö": ("OE", "O"),
    "Ü": ("UE", "U"),
    "ß": ("SS",),
    "Å": ("AA", "A"),
    "Æ": ("AE",),
    "Ø": ("OE", "O"),
    "Þ": ("TH",),
    "Ð": ("D",),
    "Ł": ("L",),
    "Ŋ": ("N",),
    "Œ": ("OE",),
    "Ĳ": ("IJ",),
}
_MAX_CANDIDATES: Final = 256


class Romanizer(Protocol):
    """Possible Latin spellings (upper-case letters only, e.g. ``{"ZHANGSAN"}``) of a name in Chinese characters,
    in the order the characters are written. An empty set means it cannot romanize the name."""

    def __call__(self, name: str) -> frozenset[str]: ...


def normalise_name(name: str) -> str:
    """Canonical form for comparing printed and typed names."""
    text = unicodedata.normalize("NFKC", name).casefold()
    return "".join(ch for ch in text if ch not in _SEPARATORS and not ch.isspace())


def names_match(a: str, b: str) -> bool:
    """Same name once normalised; empty names never match."""
    na, nb = normalise_name(a), normalise_name(b)
    return bool(na) and na == nb


def has_han(name: str) -> bool:
    """True when the name contains CJK ideographs."""
    return any(unicodedata.name(ch, "").startswith("CJK") for ch in unicodedata.normalize("NFKC", name))


def latin_spellings(name: str) -> frozenset[str]:
    """MRZ spellings of a Latin-script name: A-Z only, each ICAO transliteration variant (bounded)."""
    options: list[tuple[str, ...]] = []
    for ch in unicodedata.normalize("NFC", name).upper():
        if ch in _SEPARATORS or ch.isspace():
            continue
        if ch in _TRANSLIT:
            options.append(_TRANSLIT[ch])
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", ch) if c.isascii() and c.isalpha())
        if not base:
            return frozenset()
        options.append((base.upper(),))
    return _product(options)


def mrz_name_match(
    primary: str,
    secondary: str,
    name: str,
    *,
    truncated: bool = False,
    romanizer: Romanizer | None = None,
) -> bool | None:
    """Whether ``name`` (Latin or Chinese) is the MRZ's name; None when it cannot be told (Chinese name and no
    romanizer, or a name with letters that have no MRZ spelling)."""
    surname, given = _letters(primary), _letters(secondary)
    wanted = {surname + given, given + surname}
    if has_han(name):
        if romanizer is None:
            return None
        spellings = frozenset(s for raw in romanizer(normalise_name(name)) for s in _umlaut_variants(raw))
    else:
        # Every rotation of the typed words, so "Given Surname" meets an MRZ written surname first.
        words = unicodedata.normalize("NFKC", name).split()
        rotations = (" ".join(words[i:] + words[:i]) for i in range(max(len(words), 1)))
        spellings = frozenset(s for rotation in rotations for s in latin_spellings(rotation))
    if not spellings:
        return None
    if truncated:
        # A full name field may have been cut short by the issuer: accept a candidate that starts with it.
        return any(s.startswith(w) for s in spellings for w in wanted if w)
    return any(s in wanted for s in spellings)


def _letters(text: str) -> str:
    return "".join(ch for ch in text.upper() if "A" <= ch <= "Z")


def _umlaut_variants(spelling: str) -> Iterable[str]:
    """Pinyin ü is written YU on current Chinese passports, U or V on older ones."""
    if "V" not in spelling and "Ü" not in spelling:
        return (spelling,)
    parts = spelling.replace("Ü", "V").split("V")
    return (sep.join(parts) for sep in ("YU", "U", "V"))


def _product(options: Sequence[tuple[str, ...]]) -> frozenset[str]:
    out: set[str] = set()
    for combo in itertools.product(*options):
        out.add("".join(combo))
        if len(out) >= _MAX_CANDIDATES:
            break
    return frozenset(out)
