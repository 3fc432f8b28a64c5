"""Texts for the refusals only staff meet over gRPC, in zh-CN and en (the console keeps its own page texts)."""

from __future__ import annotations

STAFF_TEXTS: dict[str, tuple[str, str]] = {
    # code: (zh-CN, en)
    "staff_session_required": (
        "员工操作需要员工会话：请用您自己的 API 密钥和身份验证器动态码登录（StartStaffSession），再用该会话调用。",
        "Staff actions need a staff session: sign in with your own API key and authenticator code "
        "(StartStaffSession), then call with that session.",
    ),
}


def staff_text(code: str, locale: str) -> str:
    """The staff-facing text for ``code`` in ``locale`` ("zh-CN" or "en"), or "" when there is none."""
    pair = STAFF_TEXTS.get(code)
    if pair is None:
        return ""
    return pair[1] if locale == "en" else pair[0]
