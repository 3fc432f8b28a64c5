"""The keys and token sub-commands, called through their functions and through argparse."""

from __future__ import annotations

import argparse
import io
import json
import stat
from collections.abc import Callable
from pathlib import Path

from idverify.tokens.cli import keys_generate, keys_list, keys_rotate, register, token_verify
from idverify.tokens.issuer import IssuedToken
from idverify.tokens.keys import KeyRing
from tests.fakes import FixedClock, SeededRandom
from tests.unit.tokens.conftest import AUDIENCE, ISSUER


def test_generate_rotate_and_list_a_key_ring(tmp_path: Path, clock: FixedClock, rnd: SeededRandom) -> None:
    out = io.StringIO()
    directory = tmp_path / "ring"
    assert keys_generate(directory, clock=clock, random=rnd, out=out) == 0
    first = KeyRing.load_dir(directory).active.kid
    assert keys_generate(directory, clock=clock, random=rnd, out=out) == 1
    assert "already holds a key ring" in out.getvalue()
    clock.advance(86400)
    assert keys_rotate(directory, clock=clock, random=rnd, out=out) == 0
    second = KeyRing.load_dir(directory).active.kid
    assert second != first
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in directory.iterdir())

    listing = io.StringIO()
    assert keys_list(directory, clock=clock, out=listing) == 0
    lines = listing.getvalue().splitlines()
    assert lines[0].startswith(f"{second}  active")
    assert lines[1].startswith(f"{first}  verify-only")
    clock.advance(3631)
    listing = io.StringIO()
    keys_list(directory, clock=clock, out=listing)
    assert listing.getvalue().splitlines()[1].startswith(f"{first}  expired")


def test_rotate_and_list_without_a_ring_fail_cleanly(tmp_path: Path, clock: FixedClock, rnd: SeededRandom) -> None:
    out = io.StringIO()
    assert keys_rotate(tmp_path, clock=clock, random=rnd, out=out) == 1
    assert keys_list(tmp_path, clock=clock, out=out) == 1
    assert out.getvalue().count("refused") == 2


def _jwks_file(tmp_path: Path, ring: KeyRing, clock: FixedClock) -> str:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(ring.jwks(clock.now())))
    return str(path)


def test_token_verify_prints_the_claims_and_exits_0(
    tmp_path: Path, ring: KeyRing, clock: FixedClock, issue: Callable[..., IssuedToken]
) -> None:
    issued = issue()
    out, err = io.StringIO(), io.StringIO()
    status = token_verify(issued.token + "\n", jwks=_jwks_file(tmp_path, ring, clock), issuer=ISSUER,
                          audience=AUDIENCE, clock=clock, out=out, err=err)
    assert status == 0
    printed = json.loads(out.getvalue())
    assert printed["kid"] == ring.active.kid
    assert printed["claims"]["jti"] == issued.jti
    assert err.getvalue() == ""


def test_token_verify_prints_the_refusal_and_exits_1(
    tmp_path: Path, ring: KeyRing, clock: FixedClock, issue: Callable[..., IssuedToken]
) -> None:
    out = io.StringIO()
    status = token_verify(issue().token, jwks=_jwks_file(tmp_path, ring, clock), issuer=ISSUER,
                          audience="lender-z", clock=clock, out=out, err=io.StringIO())
    assert (status, out.getvalue().strip()) == (1, "refused: token_invalid (wrong_aud)")


def test_token_verify_without_issuer_and_audience_warns_that_they_are_unchecked(
    tmp_path: Path, ring: KeyRing, clock: FixedClock, issue: Callable[..., IssuedToken]
) -> None:
    out, err = io.StringIO(), io.StringIO()
    status = token_verify(issue().token, jwks=_jwks_file(tmp_path, ring, clock), issuer=None, audience=None,
                          clock=clock, out=out, err=err)
    assert status == 0
    assert "iss is not checked" in err.getvalue()
    assert "aud is not checked" in err.getvalue()


def test_token_verify_refuses_garbage_and_a_missing_jwks_file(
    tmp_path: Path, ring: KeyRing, clock: FixedClock
) -> None:
    out = io.StringIO()
    assert token_verify("garbage", jwks=_jwks_file(tmp_path, ring, clock), issuer=None, audience=None,
                        clock=clock, out=out, err=io.StringIO()) == 1
    assert token_verify("a.b.c", jwks=str(tmp_path / "missing.json"), issuer=ISSUER, audience=AUDIENCE,
                        clock=clock, out=out, err=io.StringIO()) == 1
    assert out.getvalue().splitlines() == ["refused: token_invalid (not_compact_jws)",
                                           f"refused: no JWKS file at {tmp_path / 'missing.json'}"]


def test_register_adds_the_commands_to_a_parser(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser(prog="idverify")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["keys", "rotate", "--dir", str(tmp_path)])
    assert args.dir == tmp_path
    assert callable(args.handler)
    args = parser.parse_args(["token", "verify", "--jwks", "https://x.example/jwks", "--audience", "a", "-"])
    assert (args.jwks, args.issuer, args.audience, args.value) == ("https://x.example/jwks", None, "a", "-")
    assert args.handler.__name__ == "_verify_handler"
