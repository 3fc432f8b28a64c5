"""Checks across settings, run once ``Settings`` is parsed: production requirements, TLS, webhooks, SMS, devices."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

from idverify.config_reader import ConfigError
from idverify.domain.callers import Role
from idverify.domain.errors import IdVerifyError
from idverify.domain.values import Money

if TYPE_CHECKING:
    from idverify.config import Settings


def check_combinations(settings: Settings) -> None:
    """Refuse settings that are valid one by one but not together (or not in production)."""
    if settings.is_production:
        for name, value in (("IDVERIFY_DATA_KEYS", settings.data_keys or None),
                            ("IDVERIFY_INDEX_KEY", settings.index_key), ("IDVERIFY_OTP_KEY", settings.otp_key),
                            ("IDVERIFY_PAIRWISE_SECRET", settings.pairwise_secret),
                            ("IDVERIFY_AUDIT_KEY", settings.audit_key)):
            if value is None:
                raise ConfigError(f"{name} is required in production (32 random bytes, base64)")
        if settings.sms_sender == "outbox":
            raise ConfigError("IDVERIFY_SMS_SENDER=outbox is for development only; use twilio in production")
        if not settings.liveness_light_check:
            raise ConfigError("IDVERIFY_LIVENESS_LIGHT_CHECK=false is for development only (a fake camera)")
        if not settings.api_keys and not settings.mtls_callers and settings.api_keys_file is None:
            raise ConfigError("IDVERIFY_API_KEYS, IDVERIFY_API_KEYS_FILE or IDVERIFY_MTLS_CALLERS must name "
                              "at least one caller")
    if settings.staff_sessions_required:
        refuse_mixed_role_callers(settings)
    if (settings.tls_cert_file is None) != (settings.tls_key_file is None):
        raise ConfigError("IDVERIFY_TLS_CERT_FILE and IDVERIFY_TLS_KEY_FILE must be set together")
    if settings.mtls_callers and settings.tls_client_ca_file is None:
        raise ConfigError("IDVERIFY_MTLS_CALLERS needs IDVERIFY_TLS_CLIENT_CA_FILE to verify client certificates")
    if settings.tls_client_ca_file is not None and settings.tls_cert_file is None:
        raise ConfigError("IDVERIFY_TLS_CLIENT_CA_FILE needs IDVERIFY_TLS_CERT_FILE and IDVERIFY_TLS_KEY_FILE")
    for name, url in (("IDVERIFY_RISK_WEBHOOK_URL", settings.risk_webhook_url),
                      ("IDVERIFY_CASE_WEBHOOK_URL", settings.case_webhook_url),
                      ("IDVERIFY_AUDIT_WEBHOOK_URL", settings.audit_webhook_url)):
        if url and not url.startswith(("https://", "http://")):
            raise ConfigError(f"{name} must be an http(s) URL")
        if url and (settings.webhook_secret is None or len(settings.webhook_secret.reveal()) < 16):
            raise ConfigError(f"{name} needs IDVERIFY_WEBHOOK_SECRET (at least 16 characters) to sign its calls")
    if settings.webhook_secret is not None and settings.webhook_secret.reveal().startswith(b"whsec_"):
        try:
            key = base64.b64decode(settings.webhook_secret.reveal()[6:], validate=True)
        except ValueError:
            raise ConfigError("IDVERIFY_WEBHOOK_SECRET: whsec_ secrets must be base64") from None
        if len(key) < 16:
            raise ConfigError("IDVERIFY_WEBHOOK_SECRET: a whsec_ secret needs at least 16 bytes of key")
    if settings.outbox_backoff_max_s < settings.outbox_backoff_s:
        raise ConfigError("IDVERIFY_OUTBOX_BACKOFF_MAX_S must be at least IDVERIFY_OUTBOX_BACKOFF_S")
    if settings.device_key_required_from:
        try:
            Money.parse(settings.device_key_required_from, settings.device_key_currency)
        except IdVerifyError as exc:
            raise ConfigError(f"IDVERIFY_DEVICE_KEY_REQUIRED_FROM / IDVERIFY_DEVICE_KEY_CURRENCY: {exc} "
                              "(a plain decimal such as 5000.00, or empty for never)") from None
    if settings.is_production and settings.device_registration_acr == "low":
        raise ConfigError("IDVERIFY_DEVICE_REGISTRATION_ACR=low is for development only; use substantial or high")
    if settings.inference_backend == "kserve" and ":" not in settings.kserve_target:
        raise ConfigError("IDVERIFY_INFERENCE_BACKEND=kserve needs IDVERIFY_KSERVE_TARGET (host:port of the "
                          "model server's gRPC endpoint)")
    if settings.sms_sender == "twilio":
        if not settings.twilio_account_sid:
            raise ConfigError("TWILIO_ACCOUNT_SID is required when IDVERIFY_SMS_SENDER=twilio")
        if settings.twilio_auth_token is None and not (settings.twilio_api_key_sid and settings.twilio_api_key_secret):
            raise ConfigError("TWILIO_AUTH_TOKEN, or TWILIO_API_KEY_SID with TWILIO_API_KEY_SECRET, is required")
        if not (settings.twilio_from_number or settings.twilio_messaging_service_sid):
            raise ConfigError("TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID is required")

def refuse_mixed_role_callers(settings: Settings) -> None:
    """With staff sessions required, one key or certificate may not hold both a staff role and a service role:
    a service cannot type a TOTP code, so such a key would keep its staff powers without a second factor."""
    staff = frozenset({Role.SUPPORT, Role.RISK_ANALYST, Role.ADMIN})
    for name, callers in (("IDVERIFY_API_KEYS", [(s.caller_id, s.roles) for s in settings.api_keys]),
                          ("IDVERIFY_MTLS_CALLERS", list(settings.mtls_callers.items()))):
        for caller_id, roles in callers:
            if roles & staff and roles - staff:
                raise ConfigError(f"{name}: caller {caller_id!r} holds both a staff role and a service role; "
                                  "with IDVERIFY_STAFF_SESSIONS_REQUIRED give it two callers (two keys)")
