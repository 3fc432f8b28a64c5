"""Redeeming, inspecting and revoking verification tokens."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from idverify.domain.errors import FailedPrecondition, InvalidArgument, InvalidToken
from idverify.domain.ports import Clock, Random, SystemRandom, TokenBinding, TokenVerifier, VerifiedToken
from idverify.domain.repositories import AuditEvent, UnitOfWork
from idverify.domain.values import Money
from idverify.usecases.ids import new_id
from idverify.usecases.units import KeepAndRaise, unit

MAX_TOKEN_CHARS = 8192


@dataclass(frozen=True, slots=True)
class Redemption:
    token: VerifiedToken
    redeemed_at: datetime
    redemption_id: str = ""
    #: True when this answers a retry: the token had already been redeemed by the same caller.
    repeated: bool = False


@dataclass(frozen=True, slots=True)
class Introspection:
    state: str  # active | redeemed | revoked | expired | invalid
    reason_code: str
    token: VerifiedToken | None


class Tokens:
    def __init__(self, *, uow: Callable[[], UnitOfWork], clock: Clock, verifier: TokenVerifier,
                 random: Random | None = None) -> None:
        self._uow = uow
        self._clock = clock
        self._verifier = verifier
        self._random = random or SystemRandom()

    def redeem(self, token: str, *, loan_application_id: str, amount: Money, payout_account: str,
               caller_id: str = "") -> Redemption:
        """Verify signature, claims and binding, then mark the token used, exactly once.

        Idempotent for its caller: when ``caller_id`` already redeemed this token (its answer was lost), the
        original redemption (same id and time) is returned; anyone else gets ``token_redeemed``. The binding
        needs no second comparison: the token only verifies for the binding it was issued for.

        Raises ``InvalidToken`` (token_invalid, token_expired, token_binding_mismatch, token_redeemed,
        token_revoked), ``FailedPrecondition("identity_frozen")`` and ``InvalidArgument`` for a malformed
        request. A refused redemption changes nothing but its audit entry.
        """
        _check_token_text(token)
        if not loan_application_id or not payout_account:
            raise InvalidArgument("binding_missing", "loan_application_id and payout_account are required")
        now = self._clock.now()
        binding = TokenBinding(
            loan_application_id=loan_application_id,
            amount_value=f"{amount.value:.2f}",
            currency=amount.currency,
            payout_account=payout_account,
        )
        verified = self._verifier.verify(token, now=now, expected=binding)
        # A refusal rolls this unit back (the interceptor records refused calls in a transaction of their own),
        # except a frozen identity's, whose refusal is audited with it.
        with unit(self._uow) as uow:
            fresh_id = new_id(self._random, "rdm")
            # Usually one statement, its audit entry included: redeemed if unredeemed, unrevoked and not frozen.
            # Otherwise find out why.
            fast = uow.tokens.redeem_if_unfrozen(verified.jti, now, caller_id=caller_id, redemption_id=fresh_id,
                                                 record=_redeemed_event(verified, fresh_id, repeated=False))
            if fast is not None:
                redeemed, repeated = fast, False
            else:
                record = uow.tokens.get(verified.jti)
                redeemable = record is not None and record.redeemed_at is None and record.revoked_at is None
                if redeemable and record is not None and uow.freezes.is_frozen(record.applicant_id):
                    uow.record_event(action="token.redeem_refused", object_type="token", object_id=verified.jti,
                                     outcome="refused", reason_code="identity_frozen",
                                     details={"session_id": verified.session_id})
                    raise KeepAndRaise(FailedPrecondition(
                        "identity_frozen", "the identity was frozen after this token was issued; do not disburse"))
                redeemed = uow.tokens.redeem(verified.jti, now, caller_id=caller_id, redemption_id=fresh_id)
                repeated = redeemed.redemption_id != fresh_id
                event = _redeemed_event(verified, redeemed.redemption_id, repeated=repeated)
                uow.record_event(action=event.action, object_type=event.object_type, object_id=event.object_id,
                                 outcome=event.outcome, details=event.details)
        assert redeemed.redeemed_at is not None
        return Redemption(token=verified, redeemed_at=redeemed.redeemed_at, redemption_id=redeemed.redemption_id,
                          repeated=repeated)

    def introspect(self, token: str) -> Introspection:
        """Report a token's state without redeeming it. Never raises for a bad token."""
        try:
            _check_token_text(token)
            verified = self._verifier.verify(token, now=self._clock.now(), expected=None)
        except (InvalidToken, InvalidArgument) as err:
            state = "expired" if err.code == "token_expired" else "invalid"
            return Introspection(state=state, reason_code=err.code, token=None)
        with self._uow() as uow:
            record = uow.tokens.get(verified.jti)
        if record is None:
            return Introspection(state="invalid", reason_code="token_invalid", token=None)
        if record.revoked_at is not None:
            return Introspection(state="revoked", reason_code="token_revoked", token=verified)
        if record.redeemed_at is not None:
            return Introspection(state="redeemed", reason_code="token_redeemed", token=verified)
        return Introspection(state="active", reason_code="", token=verified)

    def revoke(self, *, reason: str, jti: str = "", applicant_id: str = "", session_id: str = "") -> int:
        """Revoke unredeemed tokens selected by exactly one of token id, applicant or session."""
        with self._uow() as uow:
            count = uow.tokens.revoke(
                now=self._clock.now(), reason=reason or "revoked", jti=jti, applicant_id=applicant_id,
                session_id=session_id,
            )
            target = ("token", jti) if jti else ("applicant", applicant_id) if applicant_id else ("verification",
                                                                                                session_id)
            uow.record_event(action="tokens.revoked", object_type=target[0], object_id=target[1], outcome="ok",
                             details={"count": count})
            return count


def _redeemed_event(verified: VerifiedToken, redemption_id: str, *, repeated: bool) -> AuditEvent:
    return AuditEvent(action="token.redeemed", object_type="token", object_id=verified.jti,
                      outcome="repeated" if repeated else "ok",
                      details={"session_id": verified.session_id, "redemption_id": redemption_id})


def _check_token_text(token: str) -> None:
    if not token:
        raise InvalidArgument("token_missing", "the token is required")
    if len(token) > MAX_TOKEN_CHARS or not token.isascii():
        raise InvalidToken("token_invalid", "the token is not valid", internal_reason="oversized or non-ascii")
