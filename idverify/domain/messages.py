"""Applicant-facing texts for reason codes, in zh-CN and en.

Only codes an applicant can act on have a text; the lender's app shows it as is. Operators read the reason code.
"""

from __future__ import annotations

_TEXTS: dict[str, tuple[str, str]] = {
    # code: (zh-CN, en)
    "session_expired": ("验证已超时,请重新开始。", "This verification has timed out. Please start again."),
    "session_cancelled": ("本次验证已取消。", "This verification was cancelled."),
    "session_completed": ("本次验证已完成。", "This verification is already complete."),
    "session_failed": ("验证未通过,请重新开始。", "Verification failed. Please start again."),
    "session_not_found": ("未找到该验证。", "Verification not found."),
    "context_mismatch": ("贷款申请信息已变更,请重新验证。", "The loan details changed. Please verify again."),
    "factors_incomplete": ("还有验证步骤未完成。", "Some verification steps are not finished yet."),
    "identity_frozen": (
        "该身份已被冻结,如需帮助请联系客服。",
        "This identity is frozen. Please contact customer support.",
    ),
    "phone_invalid": ("手机号码格式不正确。", "The phone number is not valid."),
    "otp_malformed": ("请输入短信中的数字验证码。", "Please enter the digits from the text message."),
    "otp_incorrect": ("验证码不正确。", "The code is incorrect."),
    "otp_expired": ("验证码已过期,请重新获取。", "The code has expired. Please request a new one."),
    "otp_attempts_exhausted": ("错误次数过多,请重新获取验证码。", "Too many wrong codes. Please request a new one."),
    "otp_resend_too_soon": ("请稍后再获取验证码。", "Please wait before requesting another code."),
    "image_too_large": ("图片过大,请重新拍摄。", "The image is too large. Please take it again."),
    "image_corrupt": ("图片无法读取,请重新拍摄。", "The image could not be read. Please take it again."),
    "face_not_found": ("未检测到人脸,请正对镜头。", "No face was found. Please face the camera."),
    "face_ambiguous": ("画面中有多张人脸,请单独拍摄。", "More than one face is visible. Please be alone in view."),
    "server_busy": ("系统繁忙,请稍后重试。", "The service is busy. Please try again shortly."),
}


def localized(code: str, locale: str) -> str:
    """The applicant-facing text for ``code`` in ``locale`` ("zh-CN" or "en"), or "" when there is none."""
    pair = _TEXTS.get(code)
    if pair is None:
        return ""
    return pair[1] if locale == "en" else pair[0]
