"""``idverify client ...``: a command-line client for people, against a running server.

Credentials: ``--api-key`` or ``IDVERIFY_API_KEY``; in development ``--as ROLE`` reads the key for that role from
``var/dev-api-keys.toml`` (written by the server on first start). Output is readable UTF-8 text; ``--json`` (anywhere
on the command line) prints one JSON object per answer, for scripts.

Exit status: 0 the call succeeded and any factor it checked passed; 1 the service refused the call, or a factor
failed or was inconclusive; 2 a usage or local configuration error; 3 the server could not be reached.
Refusals print one line on stderr: ``error: STATUS reason: message (retry after N s)``; with ``--json`` the same
facts also go to stdout as ``{"error": {...}}``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message
from idverify_client.api.v1 import common_pb2, token_pb2, token_pb2_grpc, verification_pb2
from idverify_client.errors import RpcError
from idverify_client.rpc import AppBackendClient, Application, LoanServiceClient, RetryPolicy

EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3
_OUTBOX_CODE = re.compile(r"(?:验证码|Code )(\d{4,10})")


class UsageError(Exception):
    """A problem on this side (no API key, no outbox file); one line, exit status 2."""


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
    raise UsageError("no API key: use --api-key, IDVERIFY_API_KEY, or --data-dir naming a dev server's var/ folder")


def _application(args: argparse.Namespace) -> Application:
    return Application(applicant_id=args.applicant, loan_application_id=args.loan, amount=args.amount,
                       currency=args.currency, device_id=args.device, client_ip=args.ip, locale=args.locale)


def _print_json(args: argparse.Namespace, document: Any) -> None:
    field = getattr(args, "field", "")
    if field and not (isinstance(document, dict) and "error" in document):
        value = _pick(document, field)
        print(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
        return
    print(json.dumps(document, ensure_ascii=False, indent=None if args.json else 2))


def _pick(document: Any, path: str) -> Any:
    """``verification.session_id`` of an answer; a missing field is a usage error naming what is there."""
    value = document
    for name in path.split("."):
        if not isinstance(value, dict) or name not in value:
            there = ", ".join(sorted(value)) if isinstance(value, dict) else type(value).__name__
            raise UsageError(f"--field {path}: no {name!r} in the answer (it has: {there})")
        value = value[name]
    return value


def _show(args: argparse.Namespace, message: Message) -> None:
    _print_json(args, json_format.MessageToDict(message, preserving_proto_field_name=True))


def _factor_status(message: Message) -> int:
    """1 when the answer carries a factor result that did not pass (a wrong code, a face that did not match)."""
    if message.DESCRIPTOR.fields_by_name.get("result") is None or not message.HasField("result"):
        return EXIT_OK
    result: common_pb2.FactorResult = message.result  # type: ignore[attr-defined]
    return EXIT_OK if result.outcome == common_pb2.FACTOR_OUTCOME_PASSED else EXIT_REFUSED


def _factor_line(message: Message) -> str | None:
    if _factor_status(message) == EXIT_OK:
        return None
    result: common_pb2.FactorResult = message.result  # type: ignore[attr-defined]
    outcome = common_pb2.FactorOutcome.Name(result.outcome).removeprefix("FACTOR_OUTCOME_").lower()
    text = f"{common_pb2.Factor.Name(result.factor).removeprefix('FACTOR_').lower()} {outcome}: {result.reason_code}"
    if result.message:
        text += f": {result.message}"
    attempts = getattr(message, "attempts_left", None)
    if attempts is not None:
        text += f" ({attempts} attempts left)"
    return text


def _report(args: argparse.Namespace, error: RpcError) -> int:
    """One line for a refusal or an unreachable server; the exit status to use."""
    unreachable = error.status in {"UNAVAILABLE", "DEADLINE_EXCEEDED"} and error.reason in {
        "unavailable", "deadline_exceeded"}
    if unreachable:
        first = error.message.splitlines()[0][:200] if error.message else error.status
        line = f"idverify client: cannot reach the server at {args.server}: is `idverify serve` running? ({first})"
    else:
        line = f"error: {error}"
    print(line, file=sys.stderr)
    if args.json:
        _print_json(args, {"error": {"status": error.status, "reason": error.reason, "message": error.message,
                                     "retry_after_s": error.retry_after_s, "request_id": error.request_id}})
    return EXIT_UNREACHABLE if unreachable else EXIT_REFUSED


def _options(args: argparse.Namespace, role: str) -> dict[str, Any]:
    return {"api_key": _api_key(args, role), "timeout_s": args.timeout, "retry": RetryPolicy(max_attempts=3)}


def _run(args: argparse.Namespace, call: Callable[[], Message]) -> int:
    try:
        reply = call()
    except RpcError as error:
        return _report(args, error)
    _show(args, reply)
    line = _factor_line(reply)
    if line is not None:
        print(line, file=sys.stderr)
    return _factor_status(reply)


def _verification(args: argparse.Namespace) -> int:
    v = verification_pb2
    app = _application(args)
    cmd = args.client_command
    with AppBackendClient(args.server, **_options(args, "app_backend")) as client:

        def call() -> Message:
            if cmd == "start":
                return client.start(app, payout_account=args.payout_account, phone_e164=args.phone,
                                    first_loan=args.first_loan, biometric_consent=args.consent,
                                    consent_text_version="cli")
            if cmd == "get":
                return client.get(app, args.session)
            if cmd == "cancel":
                return client.cancel(app, args.session)
            if cmd == "send-otp":
                return client.send_otp(app, args.session)
            if cmd == "check-otp":
                return client.check_otp(app, args.session, args.code, totp=args.totp)
            if cmd == "submit-document":
                return client.submit_document(
                    app, args.session, document_type=v.DocumentType.Value(args.type),
                    front_image=Path(args.front).read_bytes(),
                    back_image=Path(args.back).read_bytes() if args.back else b"")
            if cmd == "complete":
                return client.complete(app, args.session)
            raise AssertionError(cmd)

        return _run(args, call)


def _token(args: argparse.Namespace) -> int:
    t = token_pb2
    cmd = args.client_command
    with LoanServiceClient(args.server, **_options(args, "loan_service")) as client:
        stub = token_pb2_grpc.TokenServiceStub(client.channel)  # type: ignore[no-untyped-call]
        if cmd == "jwks":
            try:
                document = client.get_jwks()
            except RpcError as error:
                return _report(args, error)
            _print_json(args, document)
            return EXIT_OK

        def call() -> Message:
            if cmd == "redeem":
                return client.call(stub.RedeemToken, t.RedeemTokenRequest(
                    token=args.token, loan_application_id=args.loan,
                    amount=common_pb2.Money(value=args.amount, currency=args.currency),
                    payout_account=args.payout_account), t.RedeemTokenResponse)
            if cmd == "introspect":
                return client.introspect(args.token)
            raise AssertionError(cmd)

        return _run(args, call)


def _health(args: argparse.Namespace) -> int:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with grpc.insecure_channel(args.server) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=args.service), timeout=args.timeout)
        except grpc.RpcError as err:
            from idverify_client.rpc import error_from_rpc

            return _report(args, error_from_rpc(err))
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    if args.json:
        _print_json(args, {"status": status})
    else:
        print(status)
    return EXIT_OK if reply.status == health_pb2.HealthCheckResponse.SERVING else EXIT_REFUSED


def _sms_outbox(args: argparse.Namespace) -> int:
    """The last one-time code written to the development SMS outbox (optionally: the last one sent to ``--to``)."""
    if os.environ.get("IDVERIFY_ENV", "development") == "production":
        raise UsageError("sms-outbox is for development only (IDVERIFY_ENV=production has no outbox)")
    path = Path(args.outbox or os.environ.get("IDVERIFY_SMS_OUTBOX_FILE") or Path(args.data_dir) / "sms-outbox.jsonl")
    if not path.exists():
        raise UsageError(f"no SMS outbox at {path} (the development server writes it; see --data-dir, --outbox)")
    for line in reversed(path.read_text(encoding="utf-8").splitlines()):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if args.to and record.get("to") != args.to:
            continue
        match = _OUTBOX_CODE.search(str(record.get("body", "")))
        if match is None:
            continue
        if args.json:
            _print_json(args, {"code": match.group(1), "to": record.get("to"), "at": record.get("at"),
                               "id": record.get("id")})
        else:
            print(match.group(1))
        return EXIT_OK
    print(f"error: no one-time code in {path}" + (f" for {args.to}" if args.to else ""), file=sys.stderr)
    return EXIT_REFUSED


def run(handler: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run a client command; local problems become one line and exit status 2."""
    try:
        return handler(args)
    except UsageError as exc:
        print(f"idverify client: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # an image or key file that cannot be read
        print(f"idverify client: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return EXIT_USAGE


def _handler(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def wrapped(args: argparse.Namespace) -> int:
        return run(fn, args)

    return wrapped


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    client = sub.add_parser("client", help="call a running server",
                            description="Call a running server. Exit status: 0 ok; 1 refused or a factor did not "
                                        "pass; 2 usage error; 3 server unreachable. --json may go anywhere.")
    # The connection options work before or after the command (`client --api-key K redeem ...` or
    # `client redeem ... --api-key K`): the command's copies default to SUPPRESS, so they only override when given.
    connection = argparse.ArgumentParser(add_help=False)
    for target, default in ((client, None), (connection, argparse.SUPPRESS)):
        target.add_argument("--server", default=default or os.environ.get("IDVERIFY_SERVER", "127.0.0.1:50051"),
                            help="host:port of the gRPC service (IDVERIFY_SERVER)")
        target.add_argument("--api-key", default=default or "", help="API key (else IDVERIFY_API_KEY)")
        target.add_argument("--as", dest="role", default=default or "",
                            help="dev only: use var/dev-api-keys.toml's key for ROLE")
        target.add_argument("--data-dir", default=default or os.environ.get("IDVERIFY_DATA_DIR", "var"))
        target.add_argument("--timeout", type=float, default=default or 10.0,
                            help="seconds for the whole call, retries included")
    client.add_argument("--json", action="store_true", help="print answers as one-line JSON (also after the command)")
    commands = client.add_subparsers(dest="client_command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--field", default="", metavar="PATH",
                        help="print only this field of the answer, e.g. verification.session_id or token")
    add = commands.add_parser

    def command(name: str, **kwargs: Any) -> argparse.ArgumentParser:
        return add(name, parents=[common, connection], **kwargs)

    def with_context(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--applicant", required=True, help="the lender's applicant/account id")
        p.add_argument("--loan", required=True, help="loan application id")
        p.add_argument("--amount", required=True, help='decimal amount, e.g. "12000.00"')
        p.add_argument("--currency", default="CNY")
        p.add_argument("--device", default="")
        p.add_argument("--ip", default="")
        p.add_argument("--locale", default="zh-CN", help="zh-CN or en: the language of messages")
        p.set_defaults(func=_handler(_verification))
        return p

    p = with_context(command("start", help="open a verification"))
    p.add_argument("--phone", default="", help="E.164 phone number")
    p.add_argument("--payout-account", required=True)
    p.add_argument("--first-loan", action="store_true")
    p.add_argument("--consent", action="store_true", help="the applicant consented to biometric processing")
    for name in ("get", "cancel", "send-otp", "complete"):
        with_context(command(name)).add_argument("--session", required=True)
    p = with_context(command("check-otp", help="check a code (exit status 1 when it is wrong)"))
    p.add_argument("--session", required=True)
    p.add_argument("--code", required=True)
    p.add_argument("--totp", action="store_true")
    p = with_context(command("submit-document"))
    p.add_argument("--session", required=True)
    p.add_argument("--type", default="DOCUMENT_TYPE_CN_ID_CARD",
                   choices=[n for n in list(verification_pb2.DocumentType.keys()) if n != "DOCUMENT_TYPE_UNSPECIFIED"])
    p.add_argument("--front", required=True)
    p.add_argument("--back", default="")

    p = command("redeem", help="redeem a token (loan service)")
    p.add_argument("--token", required=True)
    p.add_argument("--loan", required=True)
    p.add_argument("--amount", required=True)
    p.add_argument("--currency", default="CNY")
    p.add_argument("--payout-account", required=True)
    p.set_defaults(func=_handler(_token))
    p = command("introspect", help="show a token's state")
    p.add_argument("--token", required=True)
    p.set_defaults(func=_handler(_token))
    command("jwks", help="print the published key set (JSON)").set_defaults(func=_handler(_token))
    p = command("health", help="gRPC health check")
    p.add_argument("--service", default="")
    p.set_defaults(func=_handler(_health))
    p = command("sms-outbox", help="development only: print the last one-time code in the SMS outbox")
    p.add_argument("--to", default="", help="only messages to this E.164 number")
    p.add_argument("--outbox", default="", help="the outbox file (default: IDVERIFY_SMS_OUTBOX_FILE, "
                                                "else DATA_DIR/sms-outbox.jsonl)")
    p.set_defaults(func=_handler(_sms_outbox))
