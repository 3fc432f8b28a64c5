"""Outbox and webhook settings are validated at start-up, naming the variable."""

from __future__ import annotations

import base64

import pytest

from idverify.config import ConfigError, Settings
from idverify.outbox import RetryPolicy

HOOK = {"IDVERIFY_CASE_WEBHOOK_URL": "https://lender.example/hooks"}


def test_defaults_retry_fifteen_times_over_about_five_and_a_half_hours() -> None:
    settings = Settings.from_env({})
    policy = RetryPolicy(settings.outbox_max_attempts, settings.outbox_backoff_s, settings.outbox_backoff_max_s)
    assert policy.schedule()[:3] == [5.0, 10.0, 20.0] and max(policy.schedule()) == 3600.0
    assert 5 * 3600 < sum(policy.schedule()) < 6 * 3600
    assert settings.webhook_timeout_s == 5.0


@pytest.mark.parametrize(("env", "named"), [
    ({"IDVERIFY_OUTBOX_MAX_ATTEMPTS": "0"}, "IDVERIFY_OUTBOX_MAX_ATTEMPTS"),
    ({"IDVERIFY_OUTBOX_BACKOFF_S": "soon"}, "IDVERIFY_OUTBOX_BACKOFF_S"),
    ({"IDVERIFY_OUTBOX_BACKOFF_S": "60", "IDVERIFY_OUTBOX_BACKOFF_MAX_S": "30"}, "IDVERIFY_OUTBOX_BACKOFF_MAX_S"),
    ({"IDVERIFY_OUTBOX_WORKERS": "0"}, "IDVERIFY_OUTBOX_WORKERS"),
    ({"IDVERIFY_WEBHOOK_TIMEOUT_S": "600"}, "IDVERIFY_WEBHOOK_TIMEOUT_S"),
    (HOOK, "IDVERIFY_WEBHOOK_SECRET"),
    (HOOK | {"IDVERIFY_WEBHOOK_SECRET": "whsec_not base64!"}, "IDVERIFY_WEBHOOK_SECRET"),
    (HOOK | {"IDVERIFY_WEBHOOK_SECRET": "whsec_" + base64.b64encode(b"short").decode()}, "IDVERIFY_WEBHOOK_SECRET"),
])
def test_bad_outbox_settings_stop_the_start_naming_the_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        Settings.from_env(env)


def test_a_whsec_secret_is_accepted() -> None:
    secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
    settings = Settings.from_env(HOOK | {"IDVERIFY_WEBHOOK_SECRET": secret})
    assert settings.case_webhook_url == HOOK["IDVERIFY_CASE_WEBHOOK_URL"]
    assert secret not in repr(settings)
