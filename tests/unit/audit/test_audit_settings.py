"""The audit key and the inline signing key ring go through Settings, validated at start-up."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from idverify.config import ConfigError, Settings

KEY = base64.b64encode(b"k" * 32).decode()
PRODUCTION = {"IDVERIFY_ENV": "production", "IDVERIFY_DATA_KEYS": f"k1:{KEY}", "IDVERIFY_INDEX_KEY": KEY,
              "IDVERIFY_OTP_KEY": KEY, "IDVERIFY_PAIRWISE_SECRET": KEY, "IDVERIFY_SMS_SENDER": "twilio",
              "TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": "t", "TWILIO_FROM_NUMBER": "+15005550006",
              "IDVERIFY_API_KEYS": "lender:app_backend:" + "0" * 64}


def test_production_needs_an_audit_key_kept_outside_the_database() -> None:
    with pytest.raises(ConfigError, match="IDVERIFY_AUDIT_KEY is required in production"):
        Settings.from_env(PRODUCTION)
    settings = Settings.from_env({**PRODUCTION, "IDVERIFY_AUDIT_KEY": KEY})
    assert settings.audit_key is not None and settings.audit_key.reveal() == b"k" * 32
    assert "k" * 32 not in repr(settings)


@pytest.mark.parametrize(("value", "message"), [("c2hvcnQ=", "32 bytes"), ("not base64!", "base64")])
def test_a_bad_audit_key_is_named(value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=f"IDVERIFY_AUDIT_KEY.*{message}"):
        Settings.from_env({"IDVERIFY_AUDIT_KEY": value})


@pytest.mark.parametrize(("value", "ok"), [("0.5", True), ("0", False), ("61", False), ("soon", False)])
def test_the_seal_interval_is_bounded(value: str, ok: bool) -> None:
    env = {"IDVERIFY_AUDIT_SEAL_INTERVAL_S": value}
    if ok:
        assert Settings.from_env(env).audit_seal_interval_s == 0.5
    else:
        with pytest.raises(ConfigError, match="IDVERIFY_AUDIT_SEAL_INTERVAL_S"):
            Settings.from_env(env)


def test_inline_signing_keys_are_parsed_at_start_up_and_never_shown() -> None:
    pem = Ed25519PrivateKey.generate().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                     serialization.NoEncryption()).decode()
    settings = Settings.from_env({"IDVERIFY_SIGNING_KEYS": pem})
    assert settings.signing_keys is not None and settings.signing_keys.reveal().decode() == pem.strip()
    assert "PRIVATE" not in repr(settings)
    with pytest.raises(ConfigError, match="IDVERIFY_SIGNING_KEYS"):
        Settings.from_env({"IDVERIFY_SIGNING_KEYS": "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY"
                                                    "-----"})
    with pytest.raises(ConfigError, match="IDVERIFY_SIGNING_KEYS"):
        Settings.from_env({"IDVERIFY_SIGNING_KEYS": "{not json"})
