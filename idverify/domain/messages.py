"""Applicant-facing texts for reason codes, in zh-CN and en.

Only codes an applicant can act on have a text; the lender's app shows it as is. Operators read the reason code.
"""

from __future__ import annotations

_TEXTS: dict[str, tuple[str, str]] = {
    # code: (zh-CN, en)
    "session_expired": ("验证已超时,请重新开始。", "This verification has timed out. Please start again."),
    "request_malformed": ("请求无法识别,请更新应用后重试。",
                          "The request could not be read. Please update the app and retry."),
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
    "ok": ("验证通过。", "Verified."),
    "otp_not_sent": ("请先获取验证码。", "Please request a code first."),
    "otp_already_used": ("该验证码已使用,请重新获取。", "This code was already used. Please request a new one."),
    "otp_context_changed": ("贷款信息已变更,请重新获取验证码。", "The loan changed. Please request a new code."),
    "otp_locked": ("错误次数过多,请稍后再试。", "Too many wrong codes. Please try again later."),
    "otp_locked_permanently": ("错误次数过多,请联系客服。", "Too many wrong codes. Please contact customer support."),
    "totp_incorrect": ("动态口令不正确。", "The authenticator code is incorrect."),
    "totp_replayed": ("该动态口令已使用,请等待下一个。", "This code was already used. Wait for the next one."),
    "totp_not_enrolled": ("尚未绑定身份验证器。", "No authenticator app is set up."),
    "image_empty": ("未收到图片,请重新拍摄。", "No image was received. Please take it again."),
    "image_unsupported": ("图片格式不支持,请使用JPEG或PNG。", "Unsupported image. Please use JPEG or PNG."),
    "document_image_missing": ("请拍摄证件正面。", "Please take a photo of the front of the document."),
    "document_no_text": ("未识别到证件文字,请重新拍摄。", "No text was found on the document. Please take it again."),
    "document_unreadable": ("证件无法识别,请在光线充足处平放拍摄。",
                            "The document could not be read. Lay it flat in good light and try again."),
    "document_expired": ("证件已过期。", "The document has expired."),
    "document_not_yet_valid": ("证件尚未生效。", "The document is not valid yet."),
    "id_number_format": ("身份证号码格式不正确。", "The ID number is not in the right format."),
    "id_number_checksum": ("身份证号码校验未通过。", "The ID number is not valid."),
    "id_number_region": ("身份证号码地区码无效。", "The ID number is not valid."),
    "id_number_birth_date": ("身份证号码中的出生日期无效。", "The ID number is not valid."),
    "id_number_age": ("申请人年龄不符合要求。", "The applicant's age is outside the allowed range."),
    "id_number_legacy_refused": ("请使用18位身份证号码。", "Please use the 18-character ID number."),
    "name_mismatch": ("姓名与证件不一致。", "The name does not match the document."),
    "verification_already_open": ("该贷款申请已有进行中的验证。", "A verification is already open for this loan."),
    "risk_refused": ("本次申请无法继续,请联系客服。", "This application cannot continue. Please contact support."),
    "liveness_challenge_used": ("请重新开始活体检测。", "Please start the liveness check again."),
    "consent_missing": ("需要您同意人脸信息处理。", "Your consent to face processing is required."),
    "pad_unavailable": ("系统繁忙,请稍后重试。", "The service is busy. Please try again shortly."),
}


def localized(code: str, locale: str) -> str:
    """The applicant-facing text for ``code`` in ``locale`` ("zh-CN" or "en"), or "" when there is none."""
    pair = _TEXTS.get(code)
    if pair is None:
        return ""
    return pair[1] if locale == "en" else pair[0]
