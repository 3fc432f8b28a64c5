"""TEST-ONLY twilio HttpClient: sends what the real client would send to https://api.twilio.com to a local Prism
mock instead, and refuses every other host, so no test can ever reach the real Twilio."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from twilio.http.http_client import TwilioHttpClient

TWILIO_ORIGIN = ("https", "api.twilio.com")


class RefusedHost(Exception):
    """The client tried to reach a host other than api.twilio.com (deliberately not an OSError: never retried)."""


class PrismHttpClient(TwilioHttpClient):  # type: ignore[misc]
    def __init__(self, mock_base_url: str, extra_headers: dict[str, str] | None = None) -> None:
        super().__init__(timeout=15.0)
        self.mock_base_url = mock_base_url.rstrip("/")
        self.extra_headers = dict(extra_headers or {})
        self.requests: list[tuple[str, str]] = []

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Any:
        parts = urlsplit(url)
        if (parts.scheme, parts.netloc) != TWILIO_ORIGIN:
            raise RefusedHost(f"refusing to contact {parts.scheme}://{parts.netloc}")
        target = self.mock_base_url + parts.path + (f"?{parts.query}" if parts.query else "")
        self.requests.append((method, parts.path))
        merged = {**(headers or {}), **self.extra_headers}
        return super().request(method, target, params, data, merged, auth, timeout, allow_redirects)
