"""``idverify client ...``: a command-line client for people, against a running server.

Credentials: ``--api-key`` or ``IDVERIFY_API_KEY``; in development ``--as ROLE`` reads the key for that role from
``var/dev-api-keys.toml`` (written by the server on first start). Output is readable text; ``--json`` prints the
response message as JSON.
"""

from __future__ import annotations

import argparse
import os
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import json_format
from grpc_health.v1 import health_pb2, health_pb2_grpc

from idverify.api.v1 import common_pb2, token_pb2, token_pb2_grpc, verification_pb2, verification_pb2_grpc


def _api_key(args: argparse.Namespace, default_role: str) -> str:
    if args.api_key:
        return str(args.api_key)
    if os.environ.get("IDVERIFY_API_KEY"):
        return os.environ["IDVERIFY_API_KEY"]
    path = Path(args.data_dir) / "dev-api-keys.toml"
    if path.exists():
        keys = tomllib.loads(path.read_text())
        role = args.role or default_role
        if role in keys:
            return str(keys[role])
    raise SystemExit("idverify client: no API key: use --api-key, IDVERIFY_API_KEY or a dev server's var/ folder")


def _context(args: argparse.Namespace) -> common_pb2.ApplicationContext:
    return common_pb2.ApplicationContext(
        applicant_id=args.applicant,
        loan_application_id=args.loan,
        amount=common_pb2.Money(value=args.amount, currency=args.currency),
        device_id=args.device,
        client_ip=args.ip,
        locale=args.locale,
    )


def _show(args: argparse.Namespace, message: Any) -> None:
    indent = None if args.json else 2
    print(json_format.MessageToJson(message, preserving_proto_field_name=True, indent=indent))


def _call(args: argparse.Namespace, role: str, fn: Callable[[grpc.Channel, list[tuple[str, str]]], Any]) -> int:
    metadata = [("x-api-key", _api_key(args, role))]
    with grpc.insecure_channel(args.server) as channel:
        try:
            reply = fn(channel, metadata)
        except grpc.RpcError as err:
            reason = next((v for k, v in err.trailing_metadata() or () if k == "idverify-reason"), "")
            print(f"error: {err.code().name} {reason}: {err.details()}", file=sys.stderr)
            return 1
    _show(args, reply)
    return 0


def _verification(args: argparse.Namespace) -> int:
    v = verification_pb2
    ctx = _context(args)
    cmd = args.client_command

    def run(channel: grpc.Channel, md: list[tuple[str, str]]) -> Any:
        stub = verification_pb2_grpc.VerificationServiceStub(channel)
        if cmd == "start":
            return stub.StartVerification(v.StartVerificationRequest(
                context=ctx, phone_e164=args.phone, payout_account=args.payout_account, first_loan=args.first_loan,
                consent=v.Consent(biometric_processing=args.consent, text_version="cli")), metadata=md)
        if cmd == "get":
            return stub.GetVerification(v.GetVerificationRequest(context=ctx, session_id=args.session), metadata=md)
        if cmd == "cancel":
            return stub.CancelVerification(v.CancelVerificationRequest(context=ctx, session_id=args.session),
                                           metadata=md)
        if cmd == "send-otp":
            return stub.SendOtp(v.SendOtpRequest(context=ctx, session_id=args.session), metadata=md)
        if cmd == "check-otp":
            channel_kind = v.OTP_CHANNEL_TOTP if args.totp else v.OTP_CHANNEL_SMS
            return stub.CheckOtp(v.CheckOtpRequest(context=ctx, session_id=args.session, code=args.code,
                                                   channel=channel_kind), metadata=md)
        if cmd == "submit-document":
            return stub.SubmitDocument(v.SubmitDocumentRequest(
                context=ctx, session_id=args.session, document_type=v.DocumentType.Value(args.type),
                front_image=Path(args.front).read_bytes(),
                back_image=Path(args.back).read_bytes() if args.back else b""), metadata=md)
        if cmd == "complete":
            return stub.CompleteVerification(v.CompleteVerificationRequest(context=ctx, session_id=args.session),
                                             metadata=md)
        raise AssertionError(cmd)

    return _call(args, "app_backend", run)


def _token(args: argparse.Namespace) -> int:
    t = token_pb2
    cmd = args.client_command

    def run(channel: grpc.Channel, md: list[tuple[str, str]]) -> Any:
        stub = token_pb2_grpc.TokenServiceStub(channel)
        if cmd == "redeem":
            return stub.RedeemToken(t.RedeemTokenRequest(
                token=args.token, loan_application_id=args.loan,
                amount=common_pb2.Money(value=args.amount, currency=args.currency),
                payout_account=args.payout_account), metadata=md)
        if cmd == "introspect":
            return stub.IntrospectToken(t.IntrospectTokenRequest(token=args.token), metadata=md)
        if cmd == "jwks":
            return stub.GetJwks(t.GetJwksRequest(), metadata=md)
        raise AssertionError(cmd)

    return _call(args, "loan_service", run)


def _health(args: argparse.Namespace) -> int:
    with grpc.insecure_channel(args.server) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=args.service),
                                                           timeout=5)
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    print(status)
    return 0 if reply.status == health_pb2.HealthCheckResponse.SERVING else 1


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    client = sub.add_parser("client", help="call a running server")
    client.add_argument("--server", default=os.environ.get("IDVERIFY_SERVER", "127.0.0.1:50051"))
    client.add_argument("--api-key", default="")
    client.add_argument("--as", dest="role", default="", help="dev only: use var/dev-api-keys.toml's key for ROLE")
    client.add_argument("--data-dir", default=os.environ.get("IDVERIFY_DATA_DIR", "var"))
    client.add_argument("--json", action="store_true", help="print responses as JSON")
    commands = client.add_subparsers(dest="client_command", required=True)

    def with_context(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--applicant", required=True, help="the lender's applicant/account id")
        p.add_argument("--loan", required=True, help="loan application id")
        p.add_argument("--amount", required=True, help='decimal amount, e.g. "12000.00"')
        p.add_argument("--currency", default="CNY")
        p.add_argument("--device", default="")
        p.add_argument("--ip", default="")
        p.add_argument("--locale", default="zh-CN")
        p.set_defaults(func=_verification)
        return p

    p = with_context(commands.add_parser("start", help="open a verification"))
    p.add_argument("--phone", default="", help="E.164 phone number")
    p.add_argument("--payout-account", required=True)
    p.add_argument("--first-loan", action="store_true")
    p.add_argument("--consent", action="store_true", help="the applicant consented to biometric processing")
    for name in ("get", "cancel", "send-otp", "complete"):
        with_context(commands.add_parser(name)).add_argument("--session", required=True)
    p = with_context(commands.add_parser("check-otp"))
    p.add_argument("--session", required=True)
    p.add_argument("--code", required=True)
    p.add_argument("--totp", action="store_true")
    p = with_context(commands.add_parser("submit-document"))
    p.add_argument("--session", required=True)
    p.add_argument("--type", default="DOCUMENT_TYPE_CN_ID_CARD",
                   choices=[n for n in list(verification_pb2.DocumentType.keys()) if n != "DOCUMENT_TYPE_UNSPECIFIED"])
    p.add_argument("--front", required=True)
    p.add_argument("--back", default="")

    p = commands.add_parser("redeem", help="redeem a token (loan service)")
    p.add_argument("--token", required=True)
    p.add_argument("--loan", required=True)
    p.add_argument("--amount", required=True)
    p.add_argument("--currency", default="CNY")
    p.add_argument("--payout-account", required=True)
    p.set_defaults(func=_token)
    p = commands.add_parser("introspect", help="show a token's state")
    p.add_argument("--token", required=True)
    p.set_defaults(func=_token)
    commands.add_parser("jwks", help="print the published keys").set_defaults(func=_token)
    p = commands.add_parser("health", help="gRPC health check")
    p.add_argument("--service", default="")
    p.set_defaults(func=_health)
