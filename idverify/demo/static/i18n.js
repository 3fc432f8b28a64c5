// Texts of the capture page in zh-CN and en. Results and errors from idverify come already localised.
"use strict";
const TEXTS = {
  "zh-CN": {
    title: "身份验证演示", language: "语言", step_start: "申请", step_otp: "短信验证码", step_document: "身份证",
    step_liveness: "活体检测", step_done: "完成", start_heading: "申请贷款", phone: "手机号码", amount: "金额 (元)",
    consent: "我同意为本次验证处理我的人脸信息。",
    calibration: "(开发环境)允许记录本次尝试的头部姿态数值(不含图像),用于校准。",
    start: "开始", otp_heading: "短信验证码", send_otp: "发送验证码", dev_code: "开发环境验证码:", code: "验证码",
    check_otp: "验证", document_heading: "拍摄身份证", front: "人像面", back: "国徽面(可选)", submit_doc: "提交",
    liveness_heading: "活体检测", liveness_intro: "请在光线充足处,正对屏幕,按提示缓慢转头。",
    get_challenge: "开始检测", start_capture: "打开摄像头并开始", done_heading: "验证完成",
    complete: "提交贷款申请", token: "验证令牌", camera_denied: "无法打开摄像头,请允许使用摄像头后重试。",
    no_file: "请选择身份证人像面照片。", consent_needed: "需要您的同意才能进行人脸验证。",
    sending: "正在处理…", capturing: "请保持不动", get_ready: "准备开始,请正视镜头",
    loan_paid: "放款成功:令牌已离线验证并核销。", loan_refused: "放款被拒绝:",
    otp_sent: "验证码已发送。", retry: "重新检测", network: "网络错误,请重试。",
    face_document: "与身份证照片比对", face_enrolled: "与已登记人脸比对", liveness: "活体检测",
    skip_document: "本次申请无需身份证。", light_hint: "请正视屏幕,保持不动"
  },
  en: {
    title: "Identity verification demo", language: "Language", step_start: "Apply", step_otp: "SMS code",
    step_document: "ID card", step_liveness: "Liveness", step_done: "Done", start_heading: "Apply for a loan",
    phone: "Phone number", amount: "Amount (CNY)",
    consent: "I agree to the processing of my face for this verification.",
    calibration: "(Development) Record the head-pose figures of this attempt (no images) for calibration.",
    start: "Start", otp_heading: "SMS code", send_otp: "Send code", dev_code: "Development code:", code: "Code",
    check_otp: "Verify", document_heading: "Photograph your ID card", front: "Portrait side",
    back: "Emblem side (optional)", submit_doc: "Submit", liveness_heading: "Liveness check",
    liveness_intro: "Find good light, face the screen and turn your head slowly as shown.",
    get_challenge: "Start the check", start_capture: "Open the camera and start", done_heading: "Verified",
    complete: "Submit the loan application", token: "Verification token",
    camera_denied: "The camera could not be opened. Allow the camera and try again.",
    no_file: "Choose a photo of the portrait side of your ID card.",
    consent_needed: "Your consent is needed for the face checks.", sending: "Working…",
    capturing: "Hold still", get_ready: "Get ready: look straight at the camera",
    loan_paid: "Loan paid out: the token was verified offline and redeemed.", loan_refused: "Payout refused: ",
    otp_sent: "The code was sent.", retry: "Try again", network: "Network error. Please try again.",
    face_document: "Match with the ID card photo", face_enrolled: "Match with your enrolled face",
    liveness: "Liveness", skip_document: "This application needs no ID card.", light_hint: "Look at the screen and hold still"
  }
};
