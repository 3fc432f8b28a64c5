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
    "totp_unreadable": ("无法核对已绑定的身份验证器,请重新绑定。",
                        "Your authenticator app can no longer be checked. Please set it up again."),
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
    "liveness_challenges_exhausted": ("活体检测次数过多,请稍后再试。",
                                      "Too many liveness attempts. Please try again later."),
    "liveness_evidence_missing": ("该金额需要在官方应用中完成活体检测。",
                                  "This amount needs the liveness check in the official app."),
    "capture_key_invalid": ("拍摄页面版本过旧,请刷新后重试。", "The capture page is out of date. Please reload it."),
    "device_signature_invalid": ("设备签名校验未通过,请在您绑定的手机上重试。",
                                 "The device signature did not verify. Please try again on your registered phone."),
    "device_key_unknown": ("该设备未绑定,请在您绑定的手机上操作。",
                           "This device is not registered. Please use your registered phone."),
    "device_key_revoked": ("该设备已解除绑定。", "This device was removed from your account."),
    "device_key_invalid": ("设备密钥无效,请更新应用后重试。", "The device key is not usable. Please update the app."),
    "device_key_exists": ("该设备已绑定。", "This device is already registered."),
    "device_proof_replayed": ("本次验证已完成设备确认。", "This verification already has its device confirmation."),
    "device_proof_not_started": ("请重新开始设备确认。", "Please start the device confirmation again."),
    "verification_not_completed": ("请先完成一次身份验证再绑定设备。",
                                   "Please complete a verification before registering this device."),
    "verification_too_old": ("请重新验证后立即绑定设备。", "Please verify again, then register the device right away."),
    "assurance_too_low": ("绑定设备需要完成人脸及证件验证。",
                          "Registering a device needs a verification with your face and ID document."),
    "verification_not_found": ("未找到该笔验证记录。", "No such verification was found in your name."),
}


def device_registered_text(locale: str, at_text: str, reference: str) -> str:
    """SMS to the person when a device key was registered for verifications in their name."""
    if locale == "en":
        return (f"A new phone was registered for identity checks in your name at {at_text} (reference {reference}). "
                "If this was not you, report it in the app or call customer support at once.")
    return (f"您的账户于{at_text}绑定了新的手机用于身份验证(业务编号{reference})。"
            "如非本人操作,请立即在应用内举报或联系客服。")


def unregistered_device_text(locale: str, at_text: str) -> str:
    """SMS to the person's registered phone when a verification in their name starts on another device."""
    if locale == "en":
        return (f"At {at_text} someone started an identity check in your name on a phone you have not registered. "
                "If this was not you, report it in the app or call customer support.")
    return f"{at_text}有人在您未绑定的手机上以您的名义发起身份验证。如非本人操作,请在应用内举报或联系客服。"


def localized(code: str, locale: str) -> str:
    """The applicant-facing text for ``code`` in ``locale`` ("zh-CN" or "en"), or "" when there is none."""
    pair = _TEXTS.get(code)
    if pair is None:
        return ""
    return pair[1] if locale == "en" else pair[0]
