"""TokenService: thin conversion between messages and the token use cases."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import grpc

from idverify.api.v1 import token_pb2 as pb
from idverify.api.v1 import token_pb2_grpc
from idverify.transport import convert, edge
from idverify.transport.interceptors import current_caller
from idverify.usecases.tokens import Tokens

_STATES = {
    "active": pb.TOKEN_STATE_ACTIVE,
    "redeemed": pb.TOKEN_STATE_REDEEMED,
    "revoked": pb.TOKEN_STATE_REVOKED,
    "expired": pb.TOKEN_STATE_EXPIRED,
    "invalid": pb.TOKEN_STATE_INVALID,
}


class TokenServicer(token_pb2_grpc.TokenServiceServicer):
    def __init__(self, tokens: Tokens, jwks: Callable[[], dict[str, Any]]) -> None:
        self._tokens = tokens
        self._jwks = jwks
        self._rendered: tuple[dict[str, Any], str] = ({}, "")

    def GetJwks(self, request: pb.GetJwksRequest, context: grpc.ServicerContext) -> pb.GetJwksResponse:
        jwks = self._jwks()
        last, text = self._rendered
        if jwks != last:  # the set changes only when a key rotates or leaves its grace period: render it then
            text = json.dumps(jwks, separators=(",", ":"))
            self._rendered = (jwks, text)
        return pb.GetJwksResponse(jwks_json=text)

    def RedeemToken(self, request: pb.RedeemTokenRequest, context: grpc.ServicerContext) -> pb.RedeemTokenResponse:
        done = self._tokens.redeem(
            request.token,
            loan_application_id=edge.identifier(request.loan_application_id, "loan_application_id"),
            amount=convert.money(request.amount),
            payout_account=edge.payout_account(request.payout_account),
            caller_id=current_caller().caller_id,
        )
        return pb.RedeemTokenResponse(
            token_id=done.token.jti,
            subject=done.token.subject,
            session_id=done.token.session_id,
            assurance_level=done.token.assurance_level,
            methods=list(done.token.methods),
            redeemed_at=convert.timestamp(done.redeemed_at),
            redemption_id=done.redemption_id,
        )

    def IntrospectToken(self, request: pb.IntrospectTokenRequest, context: grpc.ServicerContext
                        ) -> pb.IntrospectTokenResponse:
        seen = self._tokens.introspect(request.token)
        reply = pb.IntrospectTokenResponse(state=_STATES[seen.state], reason_code=seen.reason_code)
        if seen.token is not None:
            reply.token_id = seen.token.jti
            reply.session_id = seen.token.session_id
            reply.assurance_level = seen.token.assurance_level
            reply.methods.extend(seen.token.methods)
            expires_at = convert.timestamp(seen.token.expires_at)
            if expires_at is not None:
                reply.expires_at.CopyFrom(expires_at)
        return reply

    def RevokeTokens(self, request: pb.RevokeTokensRequest, context: grpc.ServicerContext
                     ) -> pb.RevokeTokensResponse:
        target = request.WhichOneof("target")
        count = self._tokens.revoke(
            reason=request.reason[:64],
            jti=edge.identifier(request.token_id, "token_id") if target == "token_id" else "",
            applicant_id=edge.identifier(request.applicant_id, "applicant_id") if target == "applicant_id" else "",
            session_id=convert.session_id(request.session_id) if target == "session_id" else "",
        )
        return pb.RevokeTokensResponse(revoked_count=count)
