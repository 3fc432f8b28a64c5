"""Where a verifier finds public keys; the source lives in ``idverify_client.jwks``."""

from idverify_client.jwks import (
    MAX_JWKS_BYTES,
    MAX_JWKS_KEYS,
    Fetched,
    Fetcher,
    JwksError,
    JwksSource,
    RefreshingJwks,
    StaticJwks,
    cache_max_age,
    file_fetcher,
    jwks_source,
    load_jwks_json,
    parse_jwks,
    url_fetcher,
)

__all__ = [
    "MAX_JWKS_BYTES",
    "MAX_JWKS_KEYS",
    "Fetched",
    "Fetcher",
    "JwksError",
    "JwksSource",
    "RefreshingJwks",
    "StaticJwks",
    "cache_max_age",
    "file_fetcher",
    "jwks_source",
    "load_jwks_json",
    "parse_jwks",
    "url_fetcher",
]
