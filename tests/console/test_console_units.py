"""The console's own logic without a service: evidence signatures, SLA spans, settings, sessions, texts."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from idverify.console.evidence import check_signature
from idverify.console.i18n import REASONS, TEXTS, pick_locale, reason_text
from idverify.console.sessions import ConsoleSession, SessionStore
from idverify.console.settings import ConfigError, ConsoleSettings
from idverify.console.views import remaining

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def signed(payload: dict[str, object], key: Ed25519PrivateKey, *, kid: str = "k1",
           typ: str = "idverify-evidence+jwt") -> tuple[str, str]:
    header = _b64(json.dumps({"alg": "EdDSA", "kid": kid, "typ": typ}).encode())
    body = _b64(json.dumps(payload).encode())
    signature = _b64(key.sign(f"{header}.{body}".encode()))
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    jwks = json.dumps({"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "k1", "x": _b64(public)}]})
    return f"{header}.{body}.{signature}", jwks


def test_an_evidence_bundle_verifies_only_as_signed_by_a_published_key() -> None:
    key = Ed25519PrivateKey.generate()
    compact, jwks = signed({"case": {"case_id": "case_1"}}, key)
    good = check_signature(compact, jwks)
    assert good.valid and good.kid == "k1" and good.payload == {"case": {"case_id": "case_1"}}

    header, _body, signature = compact.split(".")
    tampered = f"{header}.{_b64(json.dumps({'case': {'case_id': 'case_2'}}).encode())}.{signature}"
    assert check_signature(tampered, jwks).problem == "evidence_signature_invalid"
    other, _ = signed({"case": {}}, Ed25519PrivateKey.generate())
    assert check_signature(other, jwks).problem == "evidence_signature_invalid"
    assert check_signature(signed({}, key, kid="k9")[0], jwks).problem == "evidence_key_unknown"
    assert check_signature(signed({}, key, typ="idverify-vt+jwt")[0], jwks).problem == "evidence_type_unexpected"
    assert check_signature("not a jws", jwks).problem == "evidence_malformed"
    assert check_signature(compact, "{broken").problem == "evidence_malformed"


def test_sla_spans_read_in_days_hours_and_minutes() -> None:
    assert remaining(NOW + timedelta(days=2, hours=3, minutes=5), NOW) == "2d 3h"
    assert remaining(NOW + timedelta(hours=4, minutes=5), NOW) == "4h 05m"
    assert remaining(NOW - timedelta(minutes=12, seconds=30), NOW) == "12m"


def test_settings_refuse_plain_http_in_production_and_half_tls(tmp_path: Path) -> None:
    assert ConsoleSettings.from_env({}).address == "127.0.0.1:8080"
    with pytest.raises(ConfigError, match="IDVERIFY_CONSOLE_TLS_CERT_FILE"):
        ConsoleSettings.from_env({"IDVERIFY_ENV": "production"})
    cert = tmp_path / "cert.pem"
    cert.write_text("x")
    with pytest.raises(ConfigError, match="go together"):
        ConsoleSettings.from_env({"IDVERIFY_CONSOLE_TLS_CERT_FILE": str(cert)})
    with pytest.raises(ConfigError, match="IDVERIFY_CONSOLE_ADDRESS"):
        ConsoleSettings.from_env({"IDVERIFY_CONSOLE_ADDRESS": "nowhere"})
    with pytest.raises(ConfigError, match="no such file"):
        ConsoleSettings.from_env({"IDVERIFY_CONSOLE_TLS_KEY_FILE": str(tmp_path / "missing.pem")})
    https = ConsoleSettings.from_env({"IDVERIFY_ENV": "production", "IDVERIFY_CONSOLE_TLS_CERT_FILE": str(cert),
                                      "IDVERIFY_CONSOLE_TLS_KEY_FILE": str(cert)})
    assert https.https


def test_console_sessions_end_at_the_credentials_expiry_or_when_idle() -> None:
    store = SessionStore(idle=timedelta(minutes=10))
    sid = store.create(ConsoleSession(staff_id="s1", roles=frozenset({"support"}), credential="idvss_x",
                                      expires_at=NOW + timedelta(minutes=15), last_seen=NOW))
    assert store.get(sid, NOW + timedelta(minutes=9)) is not None
    assert store.get(sid, NOW + timedelta(minutes=15)) is None
    idle = store.create(ConsoleSession(staff_id="s1", roles=frozenset(), credential="idvss_y",
                                       expires_at=NOW + timedelta(minutes=15), last_seen=NOW))
    assert store.get(idle, NOW + timedelta(minutes=11)) is None
    assert store.get("guessed", NOW) is None
    session = ConsoleSession(staff_id="s1", roles=frozenset(), credential="idvss_z", expires_at=NOW, last_seen=NOW)
    assert "idvss_z" not in repr(session)
    assert session.csrf_ok(session.csrf) and not session.csrf_ok("") and not session.csrf_ok(session.csrf + "x")


def test_every_text_exists_in_both_languages_and_locales_are_picked_safely() -> None:
    for key, (zh, en) in {**TEXTS, **REASONS}.items():
        assert zh.strip() and en.strip() and zh != en, key
    assert pick_locale("en", "zh-CN") == "en" and pick_locale(None, "en-GB,en") == "en"
    assert pick_locale("fr", "") == "zh-CN"
    assert reason_text("approval_self_approval", "en") == "You cannot approve your own request."
    assert reason_text("something_new", "zh-CN") == "服务拒绝了此操作"
