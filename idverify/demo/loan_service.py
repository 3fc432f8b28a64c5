"""The demo's simulated loan service: it pays out only against a genuine token, redeemed exactly once.

Two steps, as the README asks of a real loan service: verify the token offline against idverify's published
keys (:class:`idverify.client.verifier.TokenVerifier` on the admin port's JWKS, with the loan binding it is
about to act on), then ``TokenService.RedeemToken`` over gRPC with its own ``loan_service`` key, which makes the
token single use. Only then does it "disburse" (it records the loan as paid in memory).
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import grpc

from idverify.api.v1 import common_pb2, token_pb2, token_pb2_grpc
from idverify.client.verifier import ExpectedBinding, TokenVerifier
from idverify.demo.backend import rpc_refusal
from idverify.demo.http_json import HttpError, JsonBody, JsonServer
from idverify.domain.errors import InvalidToken


class LoanService:
    """``disburse`` verifies, redeems and records one payout per redemption."""

    def __init__(self, channel: grpc.Channel, api_key: str, verifier: TokenVerifier) -> None:
        self._stub = token_pb2_grpc.TokenServiceStub(channel)  # type: ignore[no-untyped-call]
        self._metadata = (("x-api-key", api_key),)
        self._verifier = verifier
        self._paid: dict[str, str] = {}
        self._lock = threading.Lock()

    def disburse(self, body: JsonBody) -> tuple[int, JsonBody]:
        def text(key: str) -> str:
            value = body.get(key)
            if not isinstance(value, str) or not value:
                raise HttpError(400, "bad_request", f"{key} is required")
            return value

        token, loan_id, amount = text("token"), text("loan_application_id"), text("amount")
        currency, payout = text("currency"), text("payout_account")
        try:
            verified = self._verifier.verify(token, expected=ExpectedBinding(loan_id, amount, currency, payout))
        except InvalidToken as exc:
            # The loan service's own log would hold the exact check; the demo shows it (it is not secret).
            raise HttpError(403, exc.code, f"the token was refused offline ({exc.internal_reason or exc.code})"
                            ) from None
        try:
            redeemed = self._stub.RedeemToken(token_pb2.RedeemTokenRequest(
                token=token, loan_application_id=loan_id, amount=common_pb2.Money(currency=currency, value=amount),
                payout_account=payout), metadata=self._metadata, timeout=30)
        except grpc.RpcError as err:
            raise rpc_refusal(err) from None
        # RedeemToken is idempotent for its caller (a retry after a lost answer gets the same redemption back), so
        # the loan service's own ledger, keyed by the redemption, is what pays out once.
        with self._lock:
            if redeemed.redemption_id in self._paid:
                raise HttpError(409, "loan_already_paid", "this loan was already paid out for this token")
            self._paid[redeemed.redemption_id] = loan_id
        return 200, {"disbursed": True, "loan_application_id": loan_id, "amount": amount, "currency": currency,
                     "token_id": redeemed.token_id, "acr": verified.acr, "amr": list(verified.amr),
                     "offline_verified": True, "redeemed": True}

    def routes(self) -> dict[tuple[str, str], Callable[[JsonBody], tuple[int, JsonBody]]]:
        return {("POST", "/disburse"): self.disburse}


def http_client(url: str) -> Callable[[JsonBody], JsonBody]:
    """How the app backend asks the loan service to disburse: a JSON POST to ``url``. A refusal comes back as
    ``{"disbursed": false, "reason": ..., "message": ...}``."""

    def post(body: JsonBody) -> JsonBody:
        request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",  # noqa: S310
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310 - our own 127.0.0.1 URL
                result: dict[str, Any] = json.loads(answer.read())
        except urllib.error.HTTPError as err:
            refusal = json.loads(err.read() or b"{}")
            result = {"disbursed": False, "reason": refusal.get("reason", "refused"),
                      "message": refusal.get("message", "")}
        return result

    return post


def serve_loan_service(service: LoanService, port: int = 0) -> JsonServer:
    server = JsonServer(("127.0.0.1", port), service.routes())
    server.start()
    return server
