"""A typed gRPC client for idverify: ``LoanServiceClient`` (redeem tokens) and ``AppBackendClient`` (run a
verification). Needs the ``grpc`` extra: ``pip install "idverify-client[grpc]"``.

Every refusal is an ``idverify_client.errors.RpcError`` subclass carrying the service's reason code. Calls are
retried, within one overall deadline, when the service is UNAVAILABLE (exponential backoff with jitter) and when
it sent a ``RetryInfo`` no longer than ``RetryPolicy.max_retry_info_s`` (``server_busy``); a longer wait, such as
``otp_resend_too_soon``, is raised at once with ``retry_after_s`` set. DEADLINE_EXCEEDED is never retried: the call
may have taken effect. (RedeemToken is idempotent for the caller that redeemed: asking again returns the original
redemption, so a loan service whose answer was lost can call ``redeem`` again.)
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from types import TracebackType
from typing import Any, Self, TypeVar

import grpc
from google.rpc import error_details_pb2  # type: ignore[import-untyped]
from grpc_status import rpc_status

from idverify_client.api.v1 import (
    common_pb2,
    token_pb2,
    token_pb2_grpc,
    verification_pb2,
    verification_pb2_grpc,
)
from idverify_client.errors import RpcError, error_for

Reply = TypeVar("Reply")

API_KEY_METADATA = "x-api-key"
REASON_METADATA = "idverify-reason"
REQUEST_ID_METADATA = "x-request-id"


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. ``max_attempts`` counts the first call; waits grow from ``initial_backoff_s`` by
    ``multiplier`` up to ``max_backoff_s``, each with full jitter."""

    max_attempts: int = 4
    initial_backoff_s: float = 0.1
    max_backoff_s: float = 2.0
    multiplier: float = 2.0
    max_retry_info_s: float = 5.0

    def backoff_s(self, attempt: int, rng: Callable[[], float]) -> float:
        """The wait before retry number ``attempt`` (1-based) after an UNAVAILABLE."""
        ceiling = min(self.max_backoff_s, self.initial_backoff_s * self.multiplier ** (attempt - 1))
        return ceiling * rng()


@dataclass(frozen=True)
class Redemption:
    """A token redeemed just now by this call: the loan service may disburse."""

    token_id: str
    redemption_id: str
    subject: str
    session_id: str
    assurance_level: str
    methods: tuple[str, ...]
    redeemed_at_s: float


@dataclass(frozen=True)
class Application:
    """The loan application a backend calls about; repeated in every verification RPC."""

    applicant_id: str
    loan_application_id: str
    amount: Decimal | str
    currency: str = "CNY"
    device_id: str = ""
    client_ip: str = ""
    locale: str = "zh-CN"

    def to_proto(self) -> common_pb2.ApplicationContext:
        return common_pb2.ApplicationContext(
            applicant_id=self.applicant_id,
            loan_application_id=self.loan_application_id,
            amount=common_pb2.Money(value=str(self.amount), currency=self.currency),
            device_id=self.device_id,
            client_ip=self.client_ip,
            locale=self.locale,
        )


def error_from_rpc(err: grpc.RpcError) -> RpcError:
    """The ``RpcError`` subclass for a failed call, from its ``google.rpc.Status`` details (ErrorInfo, RetryInfo,
    LocalizedMessage), falling back to the ``idverify-reason`` trailer and the status code."""
    code: grpc.StatusCode = err.code()  # type: ignore[attr-defined]
    details: str = err.details() or ""  # type: ignore[attr-defined]
    pairs: Any = err.trailing_metadata() or ()  # type: ignore[attr-defined]
    trailers: dict[str, Any] = {str(k): v for k, v in pairs}
    reason = str(trailers.get(REASON_METADATA, "")) or code.name.lower()
    message, retry_after = details, None
    try:
        status = rpc_status.from_call(err)
    except ValueError:
        status = None
    for detail in status.details if status is not None else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reason = info.reason or reason
        elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            delay = error_details_pb2.RetryInfo()
            detail.Unpack(delay)
            retry_after = delay.retry_delay.seconds + delay.retry_delay.nanos / 1e9
        elif detail.Is(error_details_pb2.LocalizedMessage.DESCRIPTOR):
            text = error_details_pb2.LocalizedMessage()
            detail.Unpack(text)
            message = text.message or message
    initial: Any = err.initial_metadata() or ()  # type: ignore[attr-defined]
    request_id = trailers.get(REQUEST_ID_METADATA) or dict(initial).get(REQUEST_ID_METADATA)
    return error_for(code.name, _safe_reason(reason), message, retry_after_s=retry_after,
                     request_id=str(request_id) if request_id else None)


def _safe_reason(reason: str) -> str:
    reason = reason.strip().lower()
    return reason if reason.replace("_", "").isalnum() and reason[:1].isalpha() and len(reason) <= 64 else "unknown"


class _Client:
    """A channel, credentials, a deadline and a retry policy shared by every call of one client."""

    def __init__(
        self,
        target: str,
        *,
        api_key: str | None = None,
        credentials: grpc.ChannelCredentials | None = None,
        channel: grpc.Channel | None = None,
        timeout_s: float = 10.0,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        if channel is None:
            channel = (grpc.secure_channel(target, credentials) if credentials is not None
                       else grpc.insecure_channel(target))
        self._channel = channel
        self._metadata: tuple[tuple[str, str], ...] = ((API_KEY_METADATA, api_key),) if api_key else ()
        self._timeout_s = timeout_s
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._monotonic = monotonic
        self._jitter = jitter

    @property
    def channel(self) -> grpc.Channel:
        """The channel, for generated stubs of RPCs without a method here (use them through ``call``)."""
        return self._channel

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    def call(self, method: Callable[..., Any], request: Any, reply_type: type[Reply], *,
             timeout_s: float | None = None) -> Reply:
        """Call a stub's unary method with this client's credentials, retries and deadline (``timeout_s``
        overrides the client's). Raises ``RpcError`` subclasses."""
        deadline = self._monotonic() + (timeout_s or self._timeout_s)
        attempt = 0
        while True:
            attempt += 1
            remaining = deadline - self._monotonic()
            try:
                if remaining <= 0:
                    raise error_for("DEADLINE_EXCEEDED", "deadline_exceeded", "no answer within the deadline")
                reply = method(request, timeout=remaining, metadata=self._metadata)
                if not isinstance(reply, reply_type):
                    raise TypeError(f"expected {reply_type.__name__}, got {type(reply).__name__}")
                return reply
            except grpc.RpcError as err:
                error = error_from_rpc(err)
            wait = self._wait_before_retry(error, attempt)
            if wait is None or self._monotonic() + wait >= deadline:
                raise error
            self._sleep(wait)

    def _wait_before_retry(self, error: RpcError, attempt: int) -> float | None:
        if attempt >= self._retry.max_attempts:
            return None
        if error.retry_after_s is not None:
            return error.retry_after_s if error.retry_after_s <= self._retry.max_retry_info_s else None
        if error.status == "UNAVAILABLE":
            return self._retry.backoff_s(attempt, self._jitter)
        return None


class LoanServiceClient(_Client):
    """What a loan service calls before it disburses (API key of a ``loan_service`` caller)."""

    def __init__(self, target: str, **options: Any) -> None:
        super().__init__(target, **options)
        self._tokens = token_pb2_grpc.TokenServiceStub(self._channel)  # type: ignore[no-untyped-call]

    def get_jwks(self) -> dict[str, Any]:
        """The published key set, as a dict (the same document as the admin port's ``/.well-known/jwks.json``)."""
        reply = self.call(self._tokens.GetJwks, token_pb2.GetJwksRequest(), token_pb2.GetJwksResponse)
        document: dict[str, Any] = json.loads(reply.jwks_json)
        return document

    def redeem(
        self, token: str, *, loan_application_id: str, amount: Decimal | str, currency: str, payout_account: str
    ) -> Redemption:
        """Redeem ``token`` for exactly this loan application, amount and payout account, once.

        Raises ``TokenRedeemed`` (another caller redeemed it), ``TokenRevoked``, ``TokenExpired``,
        ``TokenBindingMismatch``, ``TokenRefused`` or another ``RpcError``; disburse only when this returns. Asking
        again for a token this caller redeemed returns the same ``redemption_id``.
        """
        request = token_pb2.RedeemTokenRequest(
            token=token, loan_application_id=loan_application_id,
            amount=common_pb2.Money(value=str(amount), currency=currency), payout_account=payout_account)
        reply = self.call(self._tokens.RedeemToken, request, token_pb2.RedeemTokenResponse)
        return Redemption(
            token_id=reply.token_id, redemption_id=reply.redemption_id, subject=reply.subject,
            session_id=reply.session_id,
            assurance_level=reply.assurance_level, methods=tuple(reply.methods),
            redeemed_at_s=reply.redeemed_at.seconds + reply.redeemed_at.nanos / 1e9)

    def introspect(self, token: str) -> token_pb2.IntrospectTokenResponse:
        """The token's state (active, redeemed, revoked, expired) without redeeming it."""
        return self.call(self._tokens.IntrospectToken, token_pb2.IntrospectTokenRequest(token=token),
                          token_pb2.IntrospectTokenResponse)


class AppBackendClient(_Client):
    """What a lender's app backend calls while an applicant applies (API key of an ``app_backend`` caller).

    Methods return the generated response messages (typed by the ``.pyi`` stubs shipped with them).
    """

    def __init__(self, target: str, **options: Any) -> None:
        super().__init__(target, **options)
        self._verifications = verification_pb2_grpc.VerificationServiceStub(self._channel)  # type: ignore[no-untyped-call]

    def start(
        self, app: Application, *, payout_account: str, phone_e164: str = "", first_loan: bool = False,
        biometric_consent: bool = False, consent_text_version: str = "",
    ) -> verification_pb2.StartVerificationResponse:
        return self.call(self._verifications.StartVerification, verification_pb2.StartVerificationRequest(
            context=app.to_proto(), phone_e164=phone_e164, payout_account=payout_account, first_loan=first_loan,
            consent=verification_pb2.Consent(biometric_processing=biometric_consent,
                                              text_version=consent_text_version)),
            verification_pb2.StartVerificationResponse)

    def get(self, app: Application, session_id: str) -> verification_pb2.GetVerificationResponse:
        return self.call(self._verifications.GetVerification,
                          verification_pb2.GetVerificationRequest(context=app.to_proto(), session_id=session_id),
                          verification_pb2.GetVerificationResponse)

    def cancel(self, app: Application, session_id: str) -> verification_pb2.CancelVerificationResponse:
        return self.call(self._verifications.CancelVerification,
                          verification_pb2.CancelVerificationRequest(context=app.to_proto(), session_id=session_id),
                          verification_pb2.CancelVerificationResponse)

    def send_otp(self, app: Application, session_id: str) -> verification_pb2.SendOtpResponse:
        """Raises ``ResourceExhausted`` with ``reason == "otp_resend_too_soon"`` and ``retry_after_s`` when asked
        again too soon."""
        return self.call(self._verifications.SendOtp,
                          verification_pb2.SendOtpRequest(context=app.to_proto(), session_id=session_id),
                          verification_pb2.SendOtpResponse)

    def check_otp(self, app: Application, session_id: str, code: str, *, totp: bool = False
                  ) -> verification_pb2.CheckOtpResponse:
        """A wrong code is an answer, not an error: see ``reply.result.outcome`` and ``reply.attempts_left``."""
        channel = verification_pb2.OTP_CHANNEL_TOTP if totp else verification_pb2.OTP_CHANNEL_SMS
        return self.call(self._verifications.CheckOtp, verification_pb2.CheckOtpRequest(
            context=app.to_proto(), session_id=session_id, code=code, channel=channel),
            verification_pb2.CheckOtpResponse)

    def submit_document(self, app: Application, session_id: str, *, document_type: int, front_image: bytes,
                        back_image: bytes = b"") -> verification_pb2.SubmitDocumentResponse:
        """``document_type`` is a ``verification_pb2.DocumentType`` value; a document that does not pass is an
        answer (``reply.result``, ``reply.decision``), not an error."""
        return self.call(self._verifications.SubmitDocument, verification_pb2.SubmitDocumentRequest(
            context=app.to_proto(), session_id=session_id, document_type=document_type,  # type: ignore[arg-type]
            front_image=front_image, back_image=back_image), verification_pb2.SubmitDocumentResponse)

    def complete(self, app: Application, session_id: str) -> verification_pb2.CompleteVerificationResponse:
        """The token to hand to the loan service is ``reply.token``."""
        return self.call(self._verifications.CompleteVerification,
                          verification_pb2.CompleteVerificationRequest(context=app.to_proto(), session_id=session_id),
                          verification_pb2.CompleteVerificationResponse)


__all__: Sequence[str] = [
    "AppBackendClient",
    "Application",
    "LoanServiceClient",
    "Redemption",
    "RetryPolicy",
    "error_from_rpc",
]
