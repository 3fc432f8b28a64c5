"""Settings: parsed and validated once, at start-up, from an explicit mapping.

Only the entry point reads ``os.environ``; tests pass a dict. An optional TOML file (``IDVERIFY_CONFIG_FILE``)
holds the same keys; environment variables win over it. A bad value fails start-up with a message naming the
variable. Secret values have a masked repr and never reach logs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from idverify.config_checks import check_combinations
from idverify.config_reader import ConfigError, Reader, Secret, parse_signing_keys, parse_thresholds, read_file
from idverify.domain.callers import Role
from idverify.transport_config import ApiKeySpec, parse_api_keys, parse_mtls_callers

__all__ = ["ConfigError", "Secret", "Settings", "default_workers"]


def default_workers() -> int:
    """One serving process per core this process may run on (its CPU affinity, not the host's core count)."""
    return max(1, min(64, len(os.sched_getaffinity(0))))


@dataclass(frozen=True)
class Settings:
    environment: str = "development"
    grpc_address: str = "127.0.0.1:50051"
    admin_address: str = "127.0.0.1:9464"
    database_url: str = "sqlite+pysqlite:///var/idverify.db"
    migrate_on_start: bool = True
    data_dir: Path = Path("var")
    grpc_workers: int = 16
    grpc_concurrency: int = 2
    #: Serving processes sharing the gRPC port (SO_REUSEPORT); 1 runs the service in this process.
    workers: int = 1
    #: False for PgBouncer in transaction mode: psycopg must not prepare statements on pooled server connections.
    database_prepared_statements: bool = True
    #: Pooled database connections per serving process; 0 sizes the pool to every thread that may hold one at once
    #: (see ``pool_size``).
    database_pool_size: int = 0
    inference_threads: int = 2
    #: The assurance a verification must reach before it may register a device key ("low" in development only).
    device_registration_acr: str = "high"
    #: From this amount (in device_key_currency), a verification from a registered device needs its key's signature;
    #: "" never asks for it.
    device_key_required_from: str = "0.01"
    device_key_currency: str = "CNY"
    #: "local" runs the face models in-process (onnxruntime); "kserve" sends them to a KServe V2 model server.
    inference_backend: str = "local"
    kserve_target: str = ""
    kserve_timeout_s: float = 2.0
    kserve_retries: int = 2
    kserve_breaker_threshold: int = 5
    kserve_breaker_cool_down_s: float = 10.0
    max_message_bytes: int = 8 * 1024 * 1024
    log_level: str = "INFO"
    log_format: str = "json"
    api_keys: tuple[ApiKeySpec, ...] = ()
    api_keys_file: Path | None = None
    #: At most this long between looks at the keys file's modification time: a key written to or withdrawn from it
    #: takes effect within this time. 0 looks on every RPC (a ``stat`` system call each).
    api_keys_recheck_s: float = 1.0
    mtls_callers: Mapping[str, frozenset[Role]] = field(default_factory=dict)
    #: Staff roles act only through a staff session (API key + own TOTP); a staff key alone may only sign in.
    #: ``IDVERIFY_STAFF_SESSIONS_REQUIRED``, on by default in production.
    staff_sessions_required: bool = False
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    tls_client_ca_file: Path | None = None
    keys_dir: Path = Path("var/keys")
    token_issuer: str = "idverify"  # noqa: S105 - an issuer name, not a secret
    token_audiences: tuple[str, ...] = ("loan-service",)
    token_ttl_s: int = 600
    #: Field-encryption keys as (kid, key); the first one encrypts, all of them decrypt (rotation).
    data_keys: tuple[tuple[str, Secret], ...] = ()
    index_key: Secret | None = None
    otp_key: Secret | None = None
    pairwise_secret: Secret | None = None
    #: HMAC key of the audit trail; it must not live in the database the trail is stored in.
    audit_key: Secret | None = None
    #: How often the audit sealer chains new entries and signs an exported checkpoint.
    audit_seal_interval_s: float = 1.0
    #: Token signing key ring given inline (``IDVERIFY_SIGNING_KEYS``) instead of ``keys_dir``.
    signing_keys: Secret | None = None
    lender_name: str = "idverify"
    policy_file: Path | None = None
    sms_sender: str = "outbox"
    sms_outbox_file: Path = Path("var/sms-outbox.jsonl")
    twilio_account_sid: str = ""
    twilio_auth_token: Secret | None = None
    twilio_api_key_sid: str = ""
    twilio_api_key_secret: Secret | None = None
    twilio_from_number: str = ""
    twilio_messaging_service_sid: str = ""
    twilio_status_callback_url: str = ""
    sms_allowed_country_codes: tuple[str, ...] = ("86",)
    models_dir: Path | None = None
    pad_models_dir: Path | None = None
    #: Where prepared models are cached (``IDVERIFY_MODEL_CACHE``); None: ``~/.cache/idverify/models``.
    model_cache_dir: Path | None = None
    #: "off" runs without face factors; "on" refuses to start when the face models cannot load.
    face: str = "on"
    documents: str = "on"
    face_thresholds: Mapping[str, float] = field(default_factory=dict)
    liveness_turn_yaw: float = 0.25
    #: False only in development, for recorded frame sequences that cannot follow a new challenge's colours
    #: (``idverify face liveness`` with samples/frames); production refuses it.
    liveness_light_check: bool = True
    liveness_challenges_per_verification: int = 3
    liveness_challenges_per_hour: int = 10
    pad: str = "auto"
    pad_required: bool = False
    pad_threshold: float | None = None
    inference_queue: int = 8
    #: Starts per 10 minutes at night (Asia/Shanghai) above which night_burst steps verifications up; set it
    #: from the lender's normal night volume (the default suits a small lender).
    risk_night_burst_max_starts: int = 5
    risk_webhook_url: str = ""
    case_webhook_url: str = ""
    #: Receiver of signed audit checkpoints (``audit.checkpoint`` webhooks, one a minute), outside this database.
    audit_webhook_url: str = ""
    webhook_secret: Secret | None = None
    #: The outbox (side effects after commit): tries before a dead letter, backoff base and cap, workers, poll.
    outbox_max_attempts: int = 15
    outbox_backoff_s: float = 5.0
    outbox_backoff_max_s: float = 3600.0
    outbox_workers: int = 2
    outbox_poll_s: float = 1.0
    webhook_timeout_s: float = 5.0

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def pool_size(self) -> int:
        """Database connections one serving process keeps: ``IDVERIFY_DATABASE_POOL_SIZE``, or when that is 0 one
        per RPC thread, per outbox worker, and four for the audit sealer, the readiness watch, the console and a
        spare. A pool smaller than the threads that use it opens and closes a connection per request past its
        size (SQLAlchemy's overflow), which on PostgreSQL is a new server process each time."""
        if self.database_pool_size:
            return self.database_pool_size
        return self.grpc_workers + self.outbox_workers + 4

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Parse every ``IDVERIFY_*`` (and ``TWILIO_*``) setting; raise ``ConfigError`` naming the bad one."""
        merged: dict[str, str] = {}
        config_file = env.get("IDVERIFY_CONFIG_FILE")
        if config_file:
            merged.update(read_file(config_file))
        merged.update({k: v for k, v in env.items() if k.startswith(("IDVERIFY_", "TWILIO_"))})
        r = Reader(merged)
        environment = r.choice("IDVERIFY_ENV", ("development", "production"), "development")
        data_dir = r.path("IDVERIFY_DATA_DIR", Path("var"))
        settings = cls(
            environment=environment,
            grpc_address=r.address("IDVERIFY_GRPC_ADDRESS", "127.0.0.1:50051"),
            admin_address=r.address("IDVERIFY_ADMIN_ADDRESS", "127.0.0.1:9464"),
            database_url=r.text("IDVERIFY_DATABASE_URL", f"sqlite+pysqlite:///{data_dir / 'idverify.db'}"),
            migrate_on_start=r.flag("IDVERIFY_MIGRATE_ON_START", True),
            data_dir=data_dir,
            grpc_workers=r.integer("IDVERIFY_GRPC_WORKERS", 16, 2, 256),
            grpc_concurrency=r.integer("IDVERIFY_GRPC_CONCURRENCY", 2, 1, 256),
            workers=r.integer("IDVERIFY_WORKERS", default_workers(), 1, 64),
            database_prepared_statements=r.flag("IDVERIFY_DATABASE_PREPARED_STATEMENTS", True),
            database_pool_size=r.integer("IDVERIFY_DATABASE_POOL_SIZE", 0, 0, 1024),
            inference_threads=r.integer("IDVERIFY_INFERENCE_THREADS", 2, 1, 64),
            device_registration_acr=r.choice("IDVERIFY_DEVICE_REGISTRATION_ACR", ("low", "substantial", "high"),
                                             "high"),
            device_key_required_from=r.text("IDVERIFY_DEVICE_KEY_REQUIRED_FROM", "0.01"),
            device_key_currency=r.text("IDVERIFY_DEVICE_KEY_CURRENCY", "CNY"),
            inference_backend=r.choice("IDVERIFY_INFERENCE_BACKEND", ("local", "kserve"), "local"),
            kserve_target=r.text("IDVERIFY_KSERVE_TARGET", ""),
            kserve_timeout_s=r.number("IDVERIFY_KSERVE_TIMEOUT_S", 2.0, 0.05, 60.0),
            kserve_retries=r.integer("IDVERIFY_KSERVE_RETRIES", 2, 0, 10),
            kserve_breaker_threshold=r.integer("IDVERIFY_KSERVE_BREAKER_THRESHOLD", 5, 1, 1000),
            kserve_breaker_cool_down_s=r.number("IDVERIFY_KSERVE_BREAKER_COOL_DOWN_S", 10.0, 0.1, 3600.0),
            max_message_bytes=r.integer("IDVERIFY_MAX_MESSAGE_BYTES", 8 * 1024 * 1024, 64 * 1024, 64 * 1024 * 1024),
            log_level=r.choice("IDVERIFY_LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR"), "INFO"),
            log_format=r.choice("IDVERIFY_LOG_FORMAT", ("json", "console"), "json"),
            api_keys=r.parsed("IDVERIFY_API_KEYS", parse_api_keys, ()),
            api_keys_file=r.optional_file("IDVERIFY_API_KEYS_FILE"),
            api_keys_recheck_s=r.number("IDVERIFY_API_KEYS_RECHECK_S", 1.0, 0.0, 60.0),
            mtls_callers=r.parsed("IDVERIFY_MTLS_CALLERS", parse_mtls_callers, {}),
            staff_sessions_required=r.flag("IDVERIFY_STAFF_SESSIONS_REQUIRED", environment == "production"),
            tls_cert_file=r.optional_file("IDVERIFY_TLS_CERT_FILE"),
            tls_key_file=r.optional_file("IDVERIFY_TLS_KEY_FILE"),
            tls_client_ca_file=r.optional_file("IDVERIFY_TLS_CLIENT_CA_FILE"),
            keys_dir=r.path("IDVERIFY_KEYS_DIR", data_dir / "keys"),
            token_issuer=r.text("IDVERIFY_TOKEN_ISSUER", "idverify"),
            token_audiences=r.words("IDVERIFY_TOKEN_AUDIENCES", ("loan-service",)),
            token_ttl_s=r.integer("IDVERIFY_TOKEN_TTL_S", 600, 30, 3600),
            data_keys=r.keyring("IDVERIFY_DATA_KEYS"),
            index_key=r.key("IDVERIFY_INDEX_KEY"),
            otp_key=r.key("IDVERIFY_OTP_KEY"),
            pairwise_secret=r.key("IDVERIFY_PAIRWISE_SECRET"),
            audit_key=r.key("IDVERIFY_AUDIT_KEY"),
            audit_seal_interval_s=r.number("IDVERIFY_AUDIT_SEAL_INTERVAL_S", 1.0, 0.05, 60.0),
            signing_keys=r.parsed("IDVERIFY_SIGNING_KEYS", parse_signing_keys, None),
            lender_name=r.text("IDVERIFY_LENDER_NAME", "idverify"),
            policy_file=r.optional_file("IDVERIFY_POLICY_FILE"),
            sms_sender=r.choice("IDVERIFY_SMS_SENDER", ("outbox", "twilio"), "outbox"),
            sms_outbox_file=r.path("IDVERIFY_SMS_OUTBOX_FILE", data_dir / "sms-outbox.jsonl"),
            twilio_account_sid=r.text("TWILIO_ACCOUNT_SID", ""),
            twilio_auth_token=r.secret_text("TWILIO_AUTH_TOKEN"),
            twilio_api_key_sid=r.text("TWILIO_API_KEY_SID", ""),
            twilio_api_key_secret=r.secret_text("TWILIO_API_KEY_SECRET"),
            twilio_from_number=r.text("TWILIO_FROM_NUMBER", ""),
            twilio_messaging_service_sid=r.text("TWILIO_MESSAGING_SERVICE_SID", ""),
            twilio_status_callback_url=r.text("TWILIO_STATUS_CALLBACK_URL", ""),
            sms_allowed_country_codes=r.words("IDVERIFY_SMS_ALLOWED_COUNTRY_CODES", ("86",)),
            models_dir=r.optional_dir("IDVERIFY_MODELS_DIR"),
            pad_models_dir=r.optional_dir("IDVERIFY_PAD_MODELS_DIR"),
            model_cache_dir=r.optional_path("IDVERIFY_MODEL_CACHE"),
            face=r.choice("IDVERIFY_FACE", ("on", "off"), "on"),
            documents=r.choice("IDVERIFY_DOCUMENTS", ("on", "off"), "on"),
            face_thresholds=r.parsed("IDVERIFY_FACE_THRESHOLDS", parse_thresholds, {}),
            liveness_turn_yaw=r.number("IDVERIFY_LIVENESS_TURN_YAW", 0.25, 0.05, 1.0),
            liveness_light_check=r.flag("IDVERIFY_LIVENESS_LIGHT_CHECK", True),
            liveness_challenges_per_verification=r.integer("IDVERIFY_LIVENESS_CHALLENGES_PER_VERIFICATION", 3, 1, 100),
            liveness_challenges_per_hour=r.integer("IDVERIFY_LIVENESS_CHALLENGES_PER_HOUR", 10, 1, 1000),
            pad=r.choice("IDVERIFY_PAD", ("auto", "on", "off"), "auto"),
            pad_required=r.flag("IDVERIFY_PAD_REQUIRED", False),
            pad_threshold=r.optional_number("IDVERIFY_PAD_THRESHOLD", 0.0, 1.0),
            inference_queue=r.integer("IDVERIFY_INFERENCE_QUEUE", 8, 1, 1024),
            risk_night_burst_max_starts=r.integer("IDVERIFY_RISK_NIGHT_BURST_MAX_STARTS", 5, 1, 10_000_000),
            risk_webhook_url=r.text("IDVERIFY_RISK_WEBHOOK_URL", ""),
            case_webhook_url=r.text("IDVERIFY_CASE_WEBHOOK_URL", ""),
            audit_webhook_url=r.text("IDVERIFY_AUDIT_WEBHOOK_URL", ""),
            webhook_secret=r.secret_text("IDVERIFY_WEBHOOK_SECRET"),
            outbox_max_attempts=r.integer("IDVERIFY_OUTBOX_MAX_ATTEMPTS", 15, 1, 100),
            outbox_backoff_s=r.number("IDVERIFY_OUTBOX_BACKOFF_S", 5.0, 0.1, 3600.0),
            outbox_backoff_max_s=r.number("IDVERIFY_OUTBOX_BACKOFF_MAX_S", 3600.0, 0.1, 86400.0),
            outbox_workers=r.integer("IDVERIFY_OUTBOX_WORKERS", 2, 1, 32),
            outbox_poll_s=r.number("IDVERIFY_OUTBOX_POLL_S", 1.0, 0.05, 60.0),
            webhook_timeout_s=r.number("IDVERIFY_WEBHOOK_TIMEOUT_S", 5.0, 0.5, 60.0),
        )
        check_combinations(settings)
        return settings
