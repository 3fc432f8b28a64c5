"""``keys generate|rotate|list`` and ``token verify`` sub-commands, for the main CLI to mount with ``register``.

Each handler is a plain function returning the exit status, so tests call them directly; ``register`` wires them to
argparse with ``set_defaults(handler=...)``, where ``handler(args) -> int``.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from idverify.client.verifier import TokenVerifier
from idverify.domain.errors import InvalidToken
from idverify.domain.ports import Clock, Random, SystemClock, SystemRandom
from idverify.tokens.keys import INDEX_FILE, KeyRing, KeyRingError

Handler = Callable[[argparse.Namespace], int]


def register(subparsers: Any) -> None:
    """Add ``keys`` and ``token`` to the main CLI's ``add_subparsers()`` object."""
    keys = subparsers.add_parser("keys", help="manage the token signing key ring")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    for name, help_text, handler in (
        ("generate", "create a new key ring with one active key", _generate_handler),
        ("rotate", "retire the active key, add a new one, drop keys past their grace", _rotate_handler),
        ("list", "show the keys, their state and dates", _list_handler),
    ):
        command = keys_sub.add_parser(name, help=help_text)
        command.add_argument("--dir", required=True, type=Path, help="key ring directory")
        command.set_defaults(handler=handler)

    token = subparsers.add_parser("token", help="inspect verification tokens")
    token_sub = token.add_subparsers(dest="token_command", required=True)
    verify = token_sub.add_parser("verify", help="verify a token and print its claims")
    verify.add_argument("--jwks", required=True, help="JWKS URL (http/https) or file")
    verify.add_argument("--issuer", help="expected iss (default: not checked, with a warning)")
    verify.add_argument("--audience", help="expected aud (default: not checked, with a warning)")
    verify.add_argument("value", metavar="TOKEN", help="the token, or - to read it from standard input")
    verify.set_defaults(handler=_verify_handler)


def keys_generate(directory: Path, *, clock: Clock, random: Random, out: TextIO) -> int:
    """Create a ring of one key in ``directory``; refuses to overwrite an existing ring. Exit status."""
    if (directory / INDEX_FILE).exists():
        print(f"refused: {directory} already holds a key ring (use 'keys rotate')", file=out)
        return 1
    ring = KeyRing.generate(clock.now(), random)
    ring.save_dir(directory)
    print(f"generated key {ring.active.kid}", file=out)
    return 0


def keys_rotate(directory: Path, *, clock: Clock, random: Random, out: TextIO) -> int:
    """Rotate the ring in ``directory``. Exit status."""
    try:
        ring = KeyRing.load_dir(directory)
    except (KeyRingError, OSError) as exc:
        print(f"refused: {_describe(exc)}", file=out)
        return 1
    rotated = ring.rotated(clock.now(), random)
    rotated.save_dir(directory)
    dropped = sorted({k.kid for k in ring.keys} - {k.kid for k in rotated.keys} - {ring.active.kid})
    print(f"active key {rotated.active.kid}; retired {ring.active.kid}", file=out)
    for kid in dropped:
        print(f"dropped {kid} (grace period over)", file=out)
    return 0


def keys_list(directory: Path, *, clock: Clock, out: TextIO) -> int:
    """Print each key: kid, state, created_at, retired_at, and when it leaves the JWKS. Exit status."""
    try:
        ring = KeyRing.load_dir(directory)
    except (KeyRingError, OSError) as exc:
        print(f"refused: {_describe(exc)}", file=out)
        return 1
    now = clock.now()
    live = {k.kid for k in ring.verification_keys(now)}
    for key in ring.keys:
        grace = ring.grace_ends_at(key)
        state = "active" if grace is None else ("verify-only" if key.kid in live else "expired")
        print(
            f"{key.kid}  {state:<11}  created {_iso(key.created_at)}  retired {_iso(key.retired_at)}"
            f"  in JWKS until {_iso(grace) if grace else '-'}",
            file=out,
        )
    return 0


def token_verify(
    token: str,
    *,
    jwks: str,
    issuer: str | None,
    audience: str | None,
    clock: Clock,
    out: TextIO,
    err: TextIO,
) -> int:
    """Verify ``token``; print its claims as JSON (exit 0) or the refusal (exit 1)."""
    token = token.strip()
    if not jwks.startswith(("https://", "http://")) and not Path(jwks).is_file():
        print(f"refused: no JWKS file at {jwks}", file=out)
        return 1
    if issuer is None or audience is None:
        claimed = _unverified_claims(token)
        if issuer is None:
            issuer = str(claimed.get("iss") or "-")
            print("warning: --issuer not given; iss is not checked", file=err)
        if audience is None:
            aud = claimed.get("aud")
            audience = aud[0] if isinstance(aud, list) and aud and isinstance(aud[0], str) else "-"
            print("warning: --audience not given; aud is not checked", file=err)
    try:
        verified = TokenVerifier(jwks, issuer, audience, clock=clock).verify(token)
    except InvalidToken as exc:
        print(f"refused: {exc.code} ({exc.internal_reason})", file=out)
        return 1
    except ValueError as exc:
        print(f"refused: {_describe(exc)}", file=out)
        return 1
    print(json.dumps({"kid": verified.kid, "claims": dict(verified.claims)}, indent=2, ensure_ascii=False), file=out)
    return 0


def _unverified_claims(token: str) -> dict[str, Any]:
    """The payload, read without any check, only to default --issuer/--audience. Empty when unreadable."""
    try:
        payload = token.split(".")[1]
        value = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _describe(exc: Exception) -> str:
    return str(exc) if isinstance(exc, KeyRingError) else type(exc).__name__


def _iso(moment: datetime | None) -> str:
    return "-" if moment is None else moment.isoformat().replace("+00:00", "Z")


def _generate_handler(args: argparse.Namespace) -> int:
    return keys_generate(args.dir, clock=SystemClock(), random=SystemRandom(), out=sys.stdout)


def _rotate_handler(args: argparse.Namespace) -> int:
    return keys_rotate(args.dir, clock=SystemClock(), random=SystemRandom(), out=sys.stdout)


def _list_handler(args: argparse.Namespace) -> int:
    return keys_list(args.dir, clock=SystemClock(), out=sys.stdout)


def _verify_handler(args: argparse.Namespace) -> int:
    text = sys.stdin.read() if args.value == "-" else args.value
    return token_verify(
        text, jwks=args.jwks, issuer=args.issuer, audience=args.audience, clock=SystemClock(),
        out=sys.stdout, err=sys.stderr,
    )
