"""The light verifier's errors say what went wrong, and it imports nothing heavy."""

from __future__ import annotations

import http.server
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from idverify_client import InvalidToken, TokenVerifier

from idverify.tokens.keys import KeyRing
from tests.fakes import SeededRandom

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def test_invalid_token_prints_its_reason_and_the_check_that_failed() -> None:
    verifier = TokenVerifier({"keys": []}, "idverify", "loan-service")
    with pytest.raises(InvalidToken) as caught:
        verifier.verify("not-a-token", now=NOW)
    assert caught.value.reason == "token_invalid" == caught.value.code
    assert caught.value.internal_reason == "not_compact_jws"
    assert str(caught.value) == "token_invalid (not_compact_jws): the verification token was refused"


@pytest.fixture
def plain_http_jwks() -> Iterator[str]:
    ring = KeyRing.generate(NOW, SeededRandom(7))
    body = json.dumps(ring.jwks(NOW)).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_https_on_a_plain_http_jwks_port_names_the_mistake(plain_http_jwks: str) -> None:
    verifier = TokenVerifier(f"https://{plain_http_jwks}/.well-known/jwks.json", "idverify", "loan-service")
    token = "eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIiwidHlwIjoiaWR2ZXJpZnktdnQrand0In0.e30." + "A" * 86
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(token, now=NOW)
    assert caught.value.internal_reason == "jwks_unavailable"
    assert "plain http" in str(caught.value) and "SSL" in str(caught.value)


def test_importing_the_verifier_loads_no_grpc_and_nothing_of_the_server() -> None:
    code = ("import sys, idverify_client, idverify_client.verifier, idverify_client.jwks, idverify_client.errors\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'grpc', 'google', 'idverify', 'numpy'}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.strip() == "[]"
