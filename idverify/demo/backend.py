"""The demo's stand-in for the lender's app backend: HTTP/JSON from the capture page in, gRPC to idverify out.

It holds its own ``app_backend`` API key; the page gets an opaque handle per applicant flow and never a key. The
applicant, loan and amount of a flow are fixed here when the flow starts (as a real backend would take them from
its own records), so the page cannot change them later. In development it can show the SMS code from the outbox
file (``show_codes``), which a real backend never could.

Errors from idverify become :class:`~idverify.demo.http_json.HttpError` with the service's reason code and its
localised message, so the page shows the service's own zh-CN or en text.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2  # type: ignore[import-untyped]
from grpc_status import rpc_status

from idverify.api.v1 import common_pb2, verification_pb2, verification_pb2_grpc
from idverify.demo.http_json import HttpError, JsonBody, JsonServer

V = verification_pb2
C = common_pb2
LOCALES = ("zh-CN", "en")
FACTOR_NAMES = {v: k.removeprefix("FACTOR_").lower() for k, v in C.Factor.items() if v}
OUTCOME_NAMES = {v: k.removeprefix("FACTOR_OUTCOME_").lower() for k, v in C.FactorOutcome.items() if v}
POSE_NAMES = {v: k.removeprefix("HEAD_POSE_").lower() for k, v in V.HeadPose.items() if v}
HTTP_OF = {grpc.StatusCode.INVALID_ARGUMENT: 400, grpc.StatusCode.FAILED_PRECONDITION: 409,
           grpc.StatusCode.NOT_FOUND: 404, grpc.StatusCode.PERMISSION_DENIED: 403,
           grpc.StatusCode.RESOURCE_EXHAUSTED: 429, grpc.StatusCode.UNAVAILABLE: 503,
           grpc.StatusCode.UNIMPLEMENTED: 501, grpc.StatusCode.DEADLINE_EXCEEDED: 504,
           grpc.StatusCode.ALREADY_EXISTS: 409, grpc.StatusCode.UNAUTHENTICATED: 401}
MAX_FRAMES = 128
CAPTURE_RULES = ("min_frames", "max_frames", "min_interval_ms", "max_interval_ms", "max_median_interval_ms",
                 "max_frame_pixels", "min_frames_per_light_step")


@dataclass(frozen=True)
class Frame:
    """One captured frame as the page sends it (docs/liveness.md, section 3)."""

    image: bytes
    captured_at_ms: int
    sequence: int
    light_step: int
    signature: bytes

    @classmethod
    def from_json(cls, n: int, raw: object) -> Frame:
        """Raises HttpError(400) for a frame that is not an object of the documented fields."""
        if not isinstance(raw, dict):
            raise HttpError(400, "bad_request", f"frame {n} must be an object")
        try:
            numbers = [int(raw.get(k, 0)) for k in ("captured_at_ms", "sequence", "light_step")]
        except (TypeError, ValueError):
            raise HttpError(400, "bad_request", f"frame {n}: captured_at_ms, sequence, light_step are integers"
                            ) from None
        signature = raw.get("signature") or ""
        return cls(decode_image(raw.get("image"), f"frame {n}"), numbers[0], numbers[1], numbers[2],
                   decode_image(signature, f"frame {n} signature") if signature else b"")


@dataclass
class Flow:
    """One applicant's verification as the backend knows it."""

    applicant_id: str
    loan_id: str
    amount: str
    currency: str
    payout_account: str
    locale: str
    device_id: str
    session_id: str = ""

    def context(self) -> C.ApplicationContext:
        return C.ApplicationContext(applicant_id=self.applicant_id, loan_application_id=self.loan_id,
                                    amount=C.Money(currency=self.currency, value=self.amount),
                                    device_id=self.device_id, client_ip="127.0.0.1", locale=self.locale)


def rpc_refusal(err: grpc.RpcError) -> HttpError:
    """The service's reason code and localised message, as an HTTP refusal for the page."""
    reason, message = "unavailable", "idverify is not reachable"
    status = rpc_status.from_call(err)  # type: ignore[arg-type]
    for detail in status.details if status is not None else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reason = info.reason
        elif detail.Is(error_details_pb2.LocalizedMessage.DESCRIPTOR):
            text = error_details_pb2.LocalizedMessage()
            detail.Unpack(text)
            message = text.message
    return HttpError(HTTP_OF.get(err.code(), 502), reason, message)  # type: ignore[attr-defined]


def _millis(ts: Timestamp) -> int:
    return ts.seconds * 1000 + ts.nanos // 1_000_000


def factor_result(result: C.FactorResult) -> JsonBody:
    return {"factor": FACTOR_NAMES.get(result.factor, "unknown"),
            "outcome": OUTCOME_NAMES.get(result.outcome, "unknown"),
            "reason_code": result.reason_code, "message": result.message,
            "score": round(result.score, 4), "threshold": round(result.threshold, 4)}


def decode_image(value: object, what: str) -> bytes:
    """Bytes of a base64 image or ``data:`` URL. Raises HttpError(400, image_invalid)."""
    if not isinstance(value, str) or not value:
        raise HttpError(400, "image_invalid", f"{what}: an image is required")
    try:
        return base64.b64decode(value.split(",", 1)[-1], validate=True)
    except (binascii.Error, ValueError):
        raise HttpError(400, "image_invalid", f"{what}: not base64") from None


def _text(body: JsonBody, key: str, default: str = "") -> str:
    value = body.get(key, default)
    if not isinstance(value, str):
        raise HttpError(400, "bad_request", f"{key} must be a string")
    return value.strip()


class AppBackend:
    """The JSON routes of the lender's app backend. ``observe_poses`` (development, with consent) gets the
    relayed frames and the challenge, for head-turn calibration records."""

    def __init__(self, channel: grpc.Channel, api_key: str, *, loan_service: Callable[[JsonBody], JsonBody],
                 outbox_file: Path | None = None,
                 observe_poses: Callable[[Sequence[str], bool, Sequence[tuple[int, bytes]], JsonBody], None]
                 | None = None) -> None:
        self._stub = verification_pb2_grpc.VerificationServiceStub(channel)  # type: ignore[no-untyped-call]
        self._metadata = (("x-api-key", api_key),)
        self._loan_service = loan_service
        self._outbox = outbox_file
        self._observe_poses = observe_poses
        self._flows: dict[str, Flow] = {}
        self._challenges: dict[str, tuple[list[str], bool]] = {}
        self._lock = threading.Lock()

    def routes(self) -> dict[tuple[str, str], Callable[[JsonBody], tuple[int, JsonBody]]]:
        return {("GET", "/api/config"): self.config, ("POST", "/api/start"): self.start,
                ("POST", "/api/otp/send"): self.send_otp, ("POST", "/api/otp/check"): self.check_otp,
                ("POST", "/api/document"): self.document, ("POST", "/api/liveness/start"): self.liveness_start,
                ("POST", "/api/liveness/frames"): self.liveness_frames, ("POST", "/api/complete"): self.complete}

    def _call(self, method: Callable[..., Any], request: Any) -> Any:
        try:
            return method(request, metadata=self._metadata, timeout=60)
        except grpc.RpcError as err:
            raise rpc_refusal(err) from None

    def _flow(self, body: JsonBody) -> Flow:
        with self._lock:
            flow = self._flows.get(_text(body, "handle"))
        if flow is None or not flow.session_id:
            raise HttpError(404, "flow_unknown", "start again")
        return flow

    def config(self, _body: JsonBody) -> tuple[int, JsonBody]:
        return 200, {"show_codes": self._outbox is not None, "record_poses": self._observe_poses is not None}

    def start(self, body: JsonBody) -> tuple[int, JsonBody]:
        locale = _text(body, "locale", "zh-CN")
        amount = _text(body, "amount", "60000.00")
        if not re.fullmatch(r"\d{1,9}(\.\d{1,2})?", amount):
            raise HttpError(400, "amount_invalid", "amount: a plain decimal such as 60000.00")
        flow = Flow(applicant_id=_text(body, "applicant_id") or "demo-" + secrets.token_hex(4),
                    loan_id="L-" + secrets.token_hex(4), amount=amount, currency="CNY",
                    payout_account=_text(body, "payout_account", "6222020000000001"),
                    locale=locale if locale in LOCALES else "zh-CN",
                    device_id=_text(body, "device_id") or "browser-demo")
        consent = body.get("consent") is True
        answer = self._call(self._stub.StartVerification, V.StartVerificationRequest(
            context=flow.context(), phone_e164=_text(body, "phone"), payout_account=flow.payout_account,
            consent=V.Consent(biometric_processing=consent, text_version="demo-1")))
        flow.session_id = answer.verification.session_id
        handle = secrets.token_urlsafe(18)
        with self._lock:
            self._flows[handle] = flow
        return 200, {"handle": handle, "loan_id": flow.loan_id, "amount": flow.amount, "currency": flow.currency,
                     "required": [FACTOR_NAMES.get(f, "unknown") for f in answer.verification.required_factors]}

    def send_otp(self, body: JsonBody) -> tuple[int, JsonBody]:
        flow = self._flow(body)
        seen = self._outbox_lines()
        self._call(self._stub.SendOtp, V.SendOtpRequest(context=flow.context(), session_id=flow.session_id))
        answer: JsonBody = {"sent": True}
        if self._outbox is not None:
            answer["dev_code"] = self._new_code(seen)
        return 200, answer

    def _outbox_lines(self) -> int:
        if self._outbox is None or not self._outbox.exists():
            return 0
        return len(self._outbox.read_text(encoding="utf-8").splitlines())

    def _new_code(self, seen: int) -> str:
        """The code of the first outbox line written after ``seen`` lines (development only)."""
        assert self._outbox is not None
        for _ in range(50):
            lines = self._outbox.read_text(encoding="utf-8").splitlines() if self._outbox.exists() else []
            for line in lines[seen:]:
                found = re.search(r"\b(\d{6,8})\b", json.loads(line).get("body", ""))
                if found:
                    return found.group(1)
            time.sleep(0.1)
        return ""

    def check_otp(self, body: JsonBody) -> tuple[int, JsonBody]:
        flow = self._flow(body)
        answer = self._call(self._stub.CheckOtp, V.CheckOtpRequest(
            context=flow.context(), session_id=flow.session_id, code=_text(body, "code"),
            channel=V.OTP_CHANNEL_SMS))
        return 200, factor_result(answer.result)

    def document(self, body: JsonBody) -> tuple[int, JsonBody]:
        flow = self._flow(body)
        back = body.get("back")
        typed = body.get("typed") if isinstance(body.get("typed"), dict) else {}
        assert isinstance(typed, dict)
        answer = self._call(self._stub.SubmitDocument, V.SubmitDocumentRequest(
            context=flow.context(), session_id=flow.session_id, document_type=V.DOCUMENT_TYPE_CN_ID_CARD,
            front_image=decode_image(body.get("front"), "front"),
            back_image=decode_image(back, "back") if back else b"",
            typed=V.DocumentFields(full_name=_text(typed, "full_name"),
                                   document_number=_text(typed, "document_number")) if typed else None))
        result = factor_result(answer.result)
        result.update(decision=answer.decision,
                      checks=[{"name": c.name, "passed": c.passed, "reason_code": c.reason_code}
                              for c in answer.checks])
        return 200, result

    def liveness_start(self, body: JsonBody) -> tuple[int, JsonBody]:
        flow = self._flow(body)
        mirrored = body.get("mirrored") is True
        key = body.get("capture_key_jwk") or ""
        challenge = self._call(self._stub.StartLivenessChallenge, V.StartLivenessChallengeRequest(
            context=flow.context(), session_id=flow.session_id, mirrored=mirrored,
            capture_key_jwk=key if isinstance(key, str) else json.dumps(key))).challenge
        poses = [POSE_NAMES.get(s.pose, "unknown") for s in challenge.steps]
        with self._lock:
            self._challenges[challenge.challenge_id] = (poses, mirrored)
        rules = challenge.capture
        return 200, {"challenge_id": challenge.challenge_id, "nonce": challenge.nonce,
                     "steps": [{"pose": p, "guidance": s.guidance} for p, s in zip(poses, challenge.steps,
                                                                                     strict=True)],
                     "light_steps": [{"rgb": s.rgb, "duration_ms": s.duration_ms} for s in challenge.light_steps],
                     "capture": {name: getattr(rules, name) for name in CAPTURE_RULES},
                     "capture_key_registered": challenge.capture_key_registered,
                     "issued_at_ms": _millis(challenge.issued_at), "deadline_ms": _millis(challenge.deadline)}

    def liveness_frames(self, body: JsonBody) -> tuple[int, JsonBody]:
        flow = self._flow(body)
        challenge_id, nonce = _text(body, "challenge_id"), _text(body, "nonce")
        raw = body.get("frames")
        if not isinstance(raw, list) or not 0 < len(raw) <= MAX_FRAMES:
            raise HttpError(400, "liveness_frame_count", f"send 1 to {MAX_FRAMES} frames")
        frames = [Frame.from_json(n, f) for n, f in enumerate(raw)]

        def stream() -> Iterator[V.SubmitLivenessFramesRequest]:
            for n, frame in enumerate(frames):
                yield V.SubmitLivenessFramesRequest(
                    context=flow.context() if n == 0 else None, session_id=flow.session_id,
                    challenge_id=challenge_id, nonce=nonce, captured_at_ms=frame.captured_at_ms,
                    image=frame.image, sequence=frame.sequence, light_step=frame.light_step,
                    signature=frame.signature)

        answer = self._call(self._stub.SubmitLivenessFrames, stream())
        result = factor_result(answer.result)
        result.update(reason_codes=list(answer.reason_codes), passive_pad_ran=answer.passive_pad_ran,
                      face_matches=[factor_result(m) for m in answer.face_matches])
        if self._observe_poses is not None and body.get("calibration_consent") is True:
            with self._lock:
                asked, mirrored = self._challenges.get(challenge_id, ([], False))
            self._observe_poses(asked, mirrored, [(f.captured_at_ms, f.image) for f in frames], result)
        return 200, result

    def complete(self, body: JsonBody) -> tuple[int, JsonBody]:
        flow = self._flow(body)
        answer = self._call(self._stub.CompleteVerification, V.CompleteVerificationRequest(
            context=flow.context(), session_id=flow.session_id))
        loan = self._loan_service({"token": answer.token, "loan_application_id": flow.loan_id,
                                   "amount": flow.amount, "currency": flow.currency,
                                   "payout_account": flow.payout_account})
        return 200, {"token": answer.token, "token_expires_at_ms": _millis(answer.token_expires_at), "loan": loan}


def serve_backend(backend: AppBackend, static_dir: Path, port: int = 0) -> JsonServer:
    """The backend's HTTP server with the capture page, started on 127.0.0.1."""
    server = JsonServer(("127.0.0.1", port), backend.routes(), static_dir=static_dir)
    server.start()
    return server
