"""Settings are parsed once from an explicit mapping; every bad value fails with the variable's name."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from idverify.config import ConfigError, Settings
from idverify.domain.callers import Role

KEY = base64.b64encode(b"k" * 32).decode()


def test_defaults_are_a_development_service_on_loopback() -> None:
    s = Settings.from_env({})
    assert s.environment == "development"
    assert s.grpc_address == "127.0.0.1:50051"
    assert s.database_url.startswith("sqlite+pysqlite:///")
    assert s.token_ttl_s == 600 and s.sms_sender == "outbox"


@pytest.mark.parametrize(("env", "name"), [
    ({"IDVERIFY_TOKEN_TTL_S": "7200"}, "IDVERIFY_TOKEN_TTL_S"),
    ({"IDVERIFY_TOKEN_TTL_S": "ten"}, "IDVERIFY_TOKEN_TTL_S"),
    ({"IDVERIFY_GRPC_ADDRESS": "localhost"}, "IDVERIFY_GRPC_ADDRESS"),
    ({"IDVERIFY_ENV": "prod"}, "IDVERIFY_ENV"),
    ({"IDVERIFY_INDEX_KEY": "not base64!"}, "IDVERIFY_INDEX_KEY"),
    ({"IDVERIFY_INDEX_KEY": base64.b64encode(b"short").decode()}, "IDVERIFY_INDEX_KEY"),
    ({"IDVERIFY_DATA_KEYS": f"bad kid:{KEY}"}, "IDVERIFY_DATA_KEYS"),
    ({"IDVERIFY_API_KEYS": "app:app_backend:nothex"}, "IDVERIFY_API_KEYS"),
    ({"IDVERIFY_API_KEYS": f"app:superuser:{'a' * 64}"}, "IDVERIFY_API_KEYS"),
    ({"IDVERIFY_MIGRATE_ON_START": "maybe"}, "IDVERIFY_MIGRATE_ON_START"),
    ({"IDVERIFY_FACE_THRESHOLDS": "selfie_vs_document"}, "IDVERIFY_FACE_THRESHOLDS"),
    ({"IDVERIFY_TLS_CERT_FILE": "/nonexistent.pem"}, "IDVERIFY_TLS_CERT_FILE"),
    ({"IDVERIFY_SMS_SENDER": "twilio"}, "TWILIO_ACCOUNT_SID"),
    ({"IDVERIFY_ENV": "production"}, "IDVERIFY_DATA_KEYS"),
    ({"IDVERIFY_DATABASE_POOL_SIZE": "-1"}, "IDVERIFY_DATABASE_POOL_SIZE"),
    ({"IDVERIFY_DATABASE_POOL_SIZE": "lots"}, "IDVERIFY_DATABASE_POOL_SIZE"),
])
def test_a_bad_setting_names_its_variable(env: dict[str, str], name: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Settings.from_env(env)


def test_the_database_pool_holds_a_connection_for_every_thread_that_may_use_one() -> None:
    assert Settings.from_env({}).pool_size == 16 + 2 + 4  # RPC threads, outbox workers, sealer/readiness/console/spare
    assert Settings.from_env({"IDVERIFY_GRPC_WORKERS": "40", "IDVERIFY_OUTBOX_WORKERS": "3"}).pool_size == 47
    assert Settings.from_env({"IDVERIFY_DATABASE_POOL_SIZE": "8"}).pool_size == 8


def test_production_refuses_the_outbox_and_needs_callers() -> None:
    secrets = {"IDVERIFY_ENV": "production", "IDVERIFY_DATA_KEYS": f"k1:{KEY}", "IDVERIFY_INDEX_KEY": KEY,
               "IDVERIFY_OTP_KEY": KEY, "IDVERIFY_PAIRWISE_SECRET": KEY, "IDVERIFY_AUDIT_KEY": KEY}
    with pytest.raises(ConfigError, match="outbox"):
        Settings.from_env(secrets)
    twilio = {**secrets, "IDVERIFY_SMS_SENDER": "twilio", "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
              "TWILIO_AUTH_TOKEN": "t", "TWILIO_FROM_NUMBER": "+15005550006"}
    with pytest.raises(ConfigError, match="IDVERIFY_API_KEYS"):
        Settings.from_env(twilio)
    # A key with a staff role and a service role needs staff sessions off (see tests/transport/test_staff_sessions).
    ok = Settings.from_env({**twilio, "IDVERIFY_STAFF_SESSIONS_REQUIRED": "false",
                            "IDVERIFY_API_KEYS": f"app:app_backend+support:{'a' * 64},"
                                                          f"app:app_backend:{'b' * 64}"})
    assert [k.roles for k in ok.api_keys] == [frozenset({Role.APP_BACKEND, Role.SUPPORT}),
                                              frozenset({Role.APP_BACKEND})]


def test_secrets_never_show_in_repr() -> None:
    s = Settings.from_env({"IDVERIFY_INDEX_KEY": KEY, "IDVERIFY_DATA_KEYS": f"k1:{KEY}"})
    assert KEY not in repr(s) and "kkkk" not in repr(s)
    assert s.index_key is not None and s.index_key.reveal() == b"k" * 32


def test_a_toml_file_provides_values_and_the_environment_wins(tmp_path: Path) -> None:
    path = tmp_path / "idverify.toml"
    path.write_text('IDVERIFY_TOKEN_TTL_S = 300\nIDVERIFY_TOKEN_AUDIENCES = ["loans", "cards"]\n')
    s = Settings.from_env({"IDVERIFY_CONFIG_FILE": str(path), "IDVERIFY_TOKEN_TTL_S": "120"})
    assert s.token_ttl_s == 120 and s.token_audiences == ("loans", "cards")
    path.write_text("SOMETHING_ELSE = 1\n")
    with pytest.raises(ConfigError, match="unknown key"):
        Settings.from_env({"IDVERIFY_CONFIG_FILE": str(path)})
