"""Key sources: static dicts, files and URLs; caching by max-age; bounded refetching on unknown kids."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from idverify.client.jwks import (
    Fetched,
    JwksError,
    RefreshingJwks,
    StaticJwks,
    cache_max_age,
    jwks_source,
    parse_jwks,
)
from idverify.client.verifier import TokenVerifier
from idverify.tokens.issuer import IssuedToken, JwsTokenIssuer
from idverify.tokens.keys import KeyRing
from tests.fakes import FixedClock, SeededRandom
from tests.unit.tokens.conftest import AUDIENCE, ISSUER


class CountingFetcher:
    def __init__(self, document: dict[str, Any], max_age_s: int | None = None) -> None:
        self.document = document
        self.max_age_s = max_age_s
        self.calls = 0
        self.fail = False

    def __call__(self) -> Fetched:
        self.calls += 1
        if self.fail:
            raise OSError("endpoint down")
        return Fetched(json.dumps(self.document).encode(), self.max_age_s)


def test_static_jwks_skips_keys_that_are_not_ed25519_signing_keys(ring: KeyRing, clock: FixedClock) -> None:
    ours = ring.jwks(clock.now())["keys"][0]
    document = {"keys": [
        {**ours, "kid": "enc-key", "use": "enc"},
        {**ours, "kid": "x-curve", "crv": "X25519"},
        {**ours, "kid": "rs", "alg": "RS256"},
        {**ours, "kid": "private", "d": "AAAA"},
        {"kty": "RSA", "kid": "rsa", "n": "AQAB", "e": "AQAB"},
        {**ours, "kid": "../etc"},
        ours,
    ]}
    assert set(parse_jwks(document)) == {ours["kid"]}
    assert StaticJwks(document).public_key(ours["kid"], clock.now()) is not None


@pytest.mark.parametrize("document", [{}, {"keys": "x"}, {"keys": [{}] * 33}])
def test_a_document_that_is_not_a_usable_jwks_is_refused(document: dict[str, Any]) -> None:
    with pytest.raises(JwksError):
        parse_jwks(document)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [(None, None), ("", None), ("max-age=120", 120), ("public, max-age=60, must-revalidate", 60),
     ("s-maxage=5", None), ("no-store", 0), ("no-cache, max-age=60", 0), ("max-age=abc", None)],
)
def test_cache_control_max_age_is_parsed(header: str | None, seconds: int | None) -> None:
    assert cache_max_age(header) == seconds


def test_keys_are_cached_for_max_age_then_refetched(ring: KeyRing, clock: FixedClock) -> None:
    fetch = CountingFetcher(ring.jwks(clock.now()), max_age_s=120)
    source = RefreshingJwks(fetch)
    kid = ring.active.kid
    assert source.public_key(kid, clock.now()) is not None
    clock.advance(119)
    assert source.public_key(kid, clock.now()) is not None
    assert fetch.calls == 1
    clock.advance(1)
    source.public_key(kid, clock.now())
    assert fetch.calls == 2


def test_an_unknown_kid_refetches_at_most_once_per_interval(ring: KeyRing, clock: FixedClock) -> None:
    fetch = CountingFetcher(ring.jwks(clock.now()), max_age_s=3600)
    source = RefreshingJwks(fetch, min_refetch_interval_s=30)
    source.public_key(ring.active.kid, clock.now())
    clock.advance(30)
    for i in range(1000):
        assert source.public_key(f"invented-{i}", clock.now()) is None
    assert fetch.calls == 2
    clock.advance(29)
    assert source.public_key("invented-again", clock.now()) is None
    assert fetch.calls == 2
    clock.advance(1)
    source.public_key("invented-again", clock.now())
    assert fetch.calls == 3


def test_a_rotation_reaches_the_verifier_through_the_unknown_kid_refetch(
    ring: KeyRing, clock: FixedClock, rnd: SeededRandom, issuer: JwsTokenIssuer, issue: Callable[..., IssuedToken]
) -> None:
    fetch = CountingFetcher(ring.jwks(clock.now()), max_age_s=3600)
    verifier = TokenVerifier(RefreshingJwks(fetch), ISSUER, AUDIENCE, clock=clock)
    verifier.verify(issue().token)
    clock.advance(60)
    issuer.key_ring = ring.rotated(clock.now(), rnd)
    fetch.document = issuer.key_ring.jwks(clock.now())
    assert verifier.verify(issue().token).kid == issuer.key_ring.active.kid
    assert fetch.calls == 2


def test_a_failed_fetch_keeps_the_keys_already_known(ring: KeyRing, clock: FixedClock) -> None:
    fetch = CountingFetcher(ring.jwks(clock.now()), max_age_s=60)
    source = RefreshingJwks(fetch, min_refetch_interval_s=30)
    source.public_key(ring.active.kid, clock.now())
    fetch.fail = True
    clock.advance(61)
    assert source.public_key(ring.active.kid, clock.now()) is not None
    assert fetch.calls == 2
    clock.advance(10)
    source.public_key(ring.active.kid, clock.now())
    assert fetch.calls == 2  # the failure is not retried before the minimum interval


def test_a_jwks_file_is_read_and_reread_after_rotation(
    tmp_path: Path, ring: KeyRing, clock: FixedClock, rnd: SeededRandom
) -> None:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(ring.jwks(clock.now())))
    source = jwks_source(path)
    assert source.public_key(ring.active.kid, clock.now()) is not None
    clock.advance(60)
    rotated = ring.rotated(clock.now(), rnd)
    path.write_text(json.dumps(rotated.jwks(clock.now())))
    assert source.public_key(rotated.active.kid, clock.now()) is not None


class _JwksHandler(BaseHTTPRequestHandler):
    body = b"{}"
    cache_control = "max-age=300"
    hits = 0

    def do_GET(self) -> None:
        type(self).hits += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/jwk-set+json")
        self.send_header("Cache-Control", self.cache_control)
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return


@pytest.fixture
def jwks_server() -> Iterator[tuple[str, type[_JwksHandler]]]:
    handler = type("Handler", (_JwksHandler,), {"hits": 0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json", handler
    finally:
        server.shutdown()
        server.server_close()


def test_a_jwks_url_is_fetched_with_urllib_and_cached_per_cache_control(
    jwks_server: tuple[str, type[_JwksHandler]], ring: KeyRing, clock: FixedClock,
    issue: Callable[..., IssuedToken],
) -> None:
    url, handler = jwks_server
    handler.body = json.dumps(ring.jwks(clock.now())).encode()
    verifier = TokenVerifier(url, ISSUER, AUDIENCE, clock=clock)
    for _ in range(5):
        verifier.verify(issue().token)
    assert handler.hits == 1
    clock.advance(timedelta(seconds=300).total_seconds())
    verifier.verify(issue().token)
    assert handler.hits == 2


def test_an_oversized_jwks_response_is_not_used(
    jwks_server: tuple[str, type[_JwksHandler]], ring: KeyRing, clock: FixedClock
) -> None:
    url, handler = jwks_server
    handler.body = b'{"keys": [' + b" " * 70_000 + b"]}"
    assert jwks_source(url).public_key(ring.active.kid, clock.now()) is None


def test_only_http_and_https_urls_are_fetched() -> None:
    from idverify.client.jwks import url_fetcher

    with pytest.raises(ValueError):
        url_fetcher("file:///etc/passwd")
