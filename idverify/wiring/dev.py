"""Development conveniences and configuration files: generated development secrets and API keys, the token
key ring, the factor policy.

Part of the composition root (``idverify.app``): only it imports this module.
"""

from __future__ import annotations

import base64
import os
import tomllib
from dataclasses import replace

import structlog

from idverify.config import ConfigError, Secret, Settings
from idverify.domain.callers import Role
from idverify.domain.policy import Policy, PolicyError
from idverify.domain.ports import Clock, Random
from idverify.domain.values import Factor
from idverify.tokens.keys import KeyRing
from idverify.transport.auth import hash_api_key
from idverify.transport_config import ApiKeySpec

log = structlog.get_logger("idverify.app")


DEV_SECRETS_FILE = "dev-secrets.toml"


def ensure_dev_secrets(settings: Settings, random: Random) -> Settings:
    """In development, fill missing secrets from ``<data_dir>/dev-secrets.toml``, creating it (0600) once.

    Production never gets here: ``Settings`` refuses to load without real secrets.
    """
    if settings.is_production:
        return settings
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    path = settings.data_dir / DEV_SECRETS_FILE
    if not path.exists():
        values = {name: base64.b64encode(random.token_bytes(32)).decode()
                  for name in ("data_key", "index_key", "otp_key", "pairwise_secret", "audit_key")}
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write("# Development-only secrets, generated on first start. Never use in production.\n")
            fh.writelines(f'{k} = "{v}"\n' for k, v in values.items())
        log.warning("dev_secrets_generated", path=str(path))
    stored = tomllib.loads(path.read_text())
    if "audit_key" not in stored:  # a file from before the audit key existed: add it once
        stored["audit_key"] = base64.b64encode(random.token_bytes(32)).decode()
        with path.open("a") as fh:
            fh.write(f'audit_key = "{stored["audit_key"]}"\n')

    def pick(current: Secret | None, name: str) -> Secret:
        return current if current is not None else Secret(base64.b64decode(stored[name]))

    return replace(
        settings,
        data_keys=settings.data_keys or (("dev1", pick(None, "data_key")),),
        index_key=pick(settings.index_key, "index_key"),
        otp_key=pick(settings.otp_key, "otp_key"),
        pairwise_secret=pick(settings.pairwise_secret, "pairwise_secret"),
        audit_key=pick(settings.audit_key, "audit_key"),
    )


DEV_API_KEYS_FILE = "dev-api-keys.toml"


def ensure_dev_api_keys(settings: Settings, random: Random) -> Settings:
    """In development with no callers configured, create one API key per role in
    ``<data_dir>/dev-api-keys.toml`` (0600) so the CLI client can call the local server."""
    if settings.is_production or settings.api_keys or settings.mtls_callers or settings.api_keys_file:
        return settings
    path = settings.data_dir / DEV_API_KEYS_FILE
    if not path.exists():
        lines = ["# Development-only API keys, one per role, generated on first start.\n"]
        for role in Role:
            lines.append(f'{role.value} = "{base64.urlsafe_b64encode(random.token_bytes(32)).decode().rstrip("=")}"\n')
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.writelines(lines)
        log.warning("dev_api_keys_generated", path=str(path))
    stored = tomllib.loads(path.read_text())
    specs = tuple(ApiKeySpec(f"dev-{name}", frozenset({Role(name)}), hash_api_key(key)) for name, key in stored.items())
    return replace(settings, api_keys=specs)


def load_key_ring(settings: Settings, clock: Clock, random: Random) -> KeyRing:
    if settings.signing_keys is not None:
        return KeyRing.from_env_value(settings.signing_keys.reveal().decode())
    if (settings.keys_dir / "index.json").exists():
        return KeyRing.load_dir(settings.keys_dir)
    if settings.is_production:
        raise ConfigError(f"no signing keys in IDVERIFY_KEYS_DIR={settings.keys_dir}; run `idverify keys generate`")
    ring = KeyRing.generate(clock.now(), random)
    ring.save_dir(settings.keys_dir)
    log.warning("dev_signing_key_generated", kid=ring.active.kid)
    return ring


def load_policy(settings: Settings, available: frozenset[Factor]) -> Policy:
    if settings.policy_file is None:
        # The built-in policy asks only for factors this deployment provides (see docs/operations.md).
        default = Policy()
        if default.mentioned() <= available:
            return default
        return Policy(
            base=(Factor.SMS_OTP,),
            amount_bands=tuple(b for b in default.amount_bands if set(b.factors) <= available),
            new_device=tuple(f for f in default.new_device if f in available),
            phone_recently_changed=tuple(f for f in default.phone_recently_changed if f in available),
            enrolled_face=Factor.FACE_MATCH_ENROLLED in available,
        )
    try:
        policy = Policy.from_mapping(tomllib.loads(settings.policy_file.read_text()))
        policy.validate(available)
    except (PolicyError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"IDVERIFY_POLICY_FILE={settings.policy_file}: {exc}") from None
    return policy

