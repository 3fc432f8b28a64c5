"""Where a verifier finds public keys: a JWKS given as a dict, a file, or an http(s) URL.

Every source answers ``public_key(kid, now) -> OKPKey | None``; ``idverify.tokens.keys.KeyRing`` answers the same
question, so the server verifies with its own key ring and a loan service with the published JWKS, through the same
``TokenVerifier``. Only OKP/Ed25519 signing keys are taken from a JWKS; any other key in it is ignored.

File and URL sources reload on an unknown ``kid`` (that is how a rotation reaches verifiers), but at most once per
``min_refetch_interval_s``, so a stream of tokens with invented kids cannot turn into a stream of fetches. A URL
source also refetches when the ``Cache-Control: max-age`` of the last answer has run out; when a fetch fails it
keeps the keys it has (logged), because refusing every token during a brief outage of the JWKS endpoint would be
worse than trusting keys that were valid minutes ago.
"""

from __future__ import annotations

import json
import logging
import re
import ssl
import threading
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from joserfc.jwk import OKPKey

from idverify_client.claims import ALGORITHM, DIGEST_B64_PATTERN, KID_PATTERN

_log = logging.getLogger(__name__)

MAX_JWKS_BYTES = 64 * 1024
MAX_JWKS_KEYS = 32
_MAX_AGE = re.compile(r"(?:^|,)\s*(?:s-)?max-age\s*=\s*\"?(\d{1,9})\"?\s*(?:,|$)", re.IGNORECASE)
_NO_CACHE = re.compile(r"(?:^|,)\s*(?:no-cache|no-store)\s*(?:,|$)", re.IGNORECASE)


class JwksSource(Protocol):
    """Anything that can name the Ed25519 public key for a ``kid`` at time ``now`` (None: no such key)."""

    def public_key(self, kid: str, now: datetime) -> OKPKey | None: ...


class JwksError(ValueError):
    """A JWKS document that cannot be used at all (not JSON, no ``keys`` list, too large)."""


def parse_jwks(document: Mapping[str, Any]) -> dict[str, OKPKey]:
    """The usable signing keys of a JWKS, by kid. Keys of other types, curves, uses or algorithms are skipped.

    Raises ``JwksError`` when the document is not a JWKS or lists more than ``MAX_JWKS_KEYS`` keys.
    """
    keys = document.get("keys") if isinstance(document, Mapping) else None
    if not isinstance(keys, list):
        raise JwksError("a JWKS is an object with a 'keys' list")
    if len(keys) > MAX_JWKS_KEYS:
        raise JwksError(f"a JWKS may list at most {MAX_JWKS_KEYS} keys")
    found: dict[str, OKPKey] = {}
    for jwk in keys:
        if not _is_our_kind_of_key(jwk):
            continue
        found[jwk["kid"]] = OKPKey.import_key({"kty": "OKP", "crv": "Ed25519", "x": jwk["x"]})
    return found


def _is_our_kind_of_key(jwk: object) -> bool:
    if not isinstance(jwk, dict) or "d" in jwk:
        return False
    kid, x = jwk.get("kid"), jwk.get("x")
    return (
        jwk.get("kty") == "OKP"
        and jwk.get("crv") == "Ed25519"
        and jwk.get("use", "sig") == "sig"
        and jwk.get("alg", ALGORITHM) in (ALGORITHM, "Ed25519")
        and isinstance(kid, str)
        and KID_PATTERN.fullmatch(kid) is not None
        and isinstance(x, str)
        and DIGEST_B64_PATTERN.fullmatch(x) is not None
    )


def load_jwks_json(data: bytes) -> dict[str, OKPKey]:
    """``parse_jwks`` of a JSON document given as bytes. Raises ``JwksError``."""
    if len(data) > MAX_JWKS_BYTES:
        raise JwksError(f"JWKS larger than {MAX_JWKS_BYTES} bytes")
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise JwksError("JWKS is not JSON") from None
    if not isinstance(document, dict):
        raise JwksError("a JWKS is an object with a 'keys' list")
    return parse_jwks(document)


class StaticJwks:
    """A JWKS fixed at construction (a dict from configuration, or a test)."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self._keys = parse_jwks(document)

    def public_key(self, kid: str, now: datetime) -> OKPKey | None:
        return self._keys.get(kid)


@dataclass(frozen=True)
class Fetched:
    """One answer of a JWKS endpoint: the body and how long it may be cached (None: no caching directive)."""

    body: bytes
    max_age_s: int | None


Fetcher = Callable[[], Fetched]


class RefreshingJwks:
    """Keys from a fetch function, cached, refetched on expiry and (rate-limited) on an unknown kid. Thread-safe."""

    def __init__(
        self,
        fetch: Fetcher,
        *,
        min_refetch_interval_s: float = 30.0,
        default_max_age_s: float = 300.0,
        max_max_age_s: float = 86_400.0,
    ) -> None:
        self._fetch = fetch
        self._min_interval = timedelta(seconds=min_refetch_interval_s)
        self._default_max_age_s = default_max_age_s
        self._max_max_age_s = max_max_age_s
        self._lock = threading.Lock()
        self._keys: dict[str, OKPKey] = {}
        self._fetched_at: datetime | None = None
        self._fresh_until: datetime | None = None
        self.fetch_count = 0
        #: Why the last fetch failed (no secrets: an error type and the library's message), None after a success.
        self.last_error: str | None = None

    def public_key(self, kid: str, now: datetime) -> OKPKey | None:
        with self._lock:
            if self._fresh_until is None or now >= self._fresh_until:
                self._refresh(now)
            key = self._keys.get(kid)
            if key is None and self._may_refetch(now):
                self._refresh(now)
                key = self._keys.get(kid)
            return key

    def _may_refetch(self, now: datetime) -> bool:
        return self._fetched_at is None or now - self._fetched_at >= self._min_interval

    def _refresh(self, now: datetime) -> None:
        if self._fetched_at is not None and not self._may_refetch(now):
            return
        self._fetched_at = now
        self.fetch_count += 1
        try:
            fetched = self._fetch()
            keys = load_jwks_json(fetched.body)
        except (OSError, JwksError) as exc:
            # Keep what we have; try again after the minimum interval.
            self.last_error = describe_fetch_error(exc)
            _log.warning("jwks_fetch_failed: %s", self.last_error)
            self._fresh_until = now + self._min_interval
            return
        self.last_error = None
        self._keys = keys
        max_age = self._default_max_age_s if fetched.max_age_s is None else fetched.max_age_s
        self._fresh_until = now + timedelta(seconds=min(max_age, self._max_max_age_s))


def describe_fetch_error(exc: BaseException) -> str:
    """One line saying why a JWKS could not be fetched, with a hint for the usual mistake (https on a plain-HTTP
    admin port)."""
    text = f"{type(exc).__name__}: {exc}"[:300]
    if isinstance(exc, ssl.SSLError) or "WRONG_VERSION_NUMBER" in text or "record layer failure" in text:
        text += " (is the JWKS URL https:// on a port that speaks plain http? idverify's admin port is http://)"
    return text


def cache_max_age(cache_control: str | None) -> int | None:
    """Seconds a response may be cached per its Cache-Control header: 0 for no-cache/no-store, None if unstated."""
    if not cache_control:
        return None
    if _NO_CACHE.search(cache_control):
        return 0
    match = _MAX_AGE.search(cache_control)
    return int(match.group(1)) if match else None


def url_fetcher(url: str, *, timeout_s: float = 5.0) -> Fetcher:
    """A fetcher for an http(s) URL using urllib; reads at most ``MAX_JWKS_BYTES`` + 1 bytes."""
    if not url.startswith(("https://", "http://")):
        raise ValueError("JWKS URL must be http:// or https://")

    def fetch() -> Fetched:
        # S310: the scheme was checked above (http/https only, never file:).
        accept = {"Accept": "application/jwk-set+json, application/json"}
        request = urllib.request.Request(url, headers=accept)  # noqa: S310
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
            body = response.read(MAX_JWKS_BYTES + 1)
            return Fetched(body, cache_max_age(response.headers.get("Cache-Control")))

    return fetch


def file_fetcher(path: Path) -> Fetcher:
    """A fetcher that reads a JWKS file (no caching directive: the default max-age applies)."""

    def fetch() -> Fetched:
        with path.open("rb") as f:
            return Fetched(f.read(MAX_JWKS_BYTES + 1), None)

    return fetch


def jwks_source(spec: JwksSource | Mapping[str, Any] | str | Path, **options: float) -> JwksSource:
    """A source from a JWKS dict, an http(s) URL, a file path, or something that is already a source.

    ``options`` go to ``RefreshingJwks`` for URLs and files.
    """
    if isinstance(spec, Mapping):
        return StaticJwks(spec)
    if isinstance(spec, str) and spec.startswith(("https://", "http://")):
        return RefreshingJwks(url_fetcher(spec), **options)
    if isinstance(spec, str | Path):
        return RefreshingJwks(file_fetcher(Path(spec)), **options)
    return spec
