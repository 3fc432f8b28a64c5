"""Applicant-facing text for any reason code, in zh-CN or en: one lookup over the domain's messages and the
factors' own texts (liveness, face quality hints)."""

from __future__ import annotations

from idverify.domain.messages import localized
from idverify.factors.face_match import HINTS
from idverify.factors.liveness import REASON_TEXTS
from idverify.staff.texts import staff_text


def text_for(code: str, locale: str) -> str:
    """The text to show the applicant for ``code``, or "" when the code has none."""
    found = localized(code, locale)
    if found:
        return found
    pair = REASON_TEXTS.get(code)
    if pair is not None:
        return pair[1] if locale == "en" else pair[0]
    hint = HINTS.get(code)
    if hint is not None:
        return hint["en" if locale == "en" else "zh-CN"]
    return staff_text(code, locale)
