"""The composition root: builds every adapter from ``Settings`` and wires them into use cases and servicers.

Nothing else constructs adapters. ``build`` does all the slow work (migrations, model loading) before the server
reports SERVING.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from prometheus_client import Gauge
from sqlalchemy import Connection, Engine, text

from idverify.attestation.capture_key import EcdsaCaptureKeys
from idverify.attestation.platform import NoPlatformAttestor
from idverify.audit import Actor, AuditEntry, AuditKey, AuditLog, AuditSealer, Checkpoint, CheckpointSigner
from idverify.cases.approval_service import ApprovalService
from idverify.cases.approvals import ApprovalRules
from idverify.cases.desk import CaseDesk
from idverify.cases.freeze_service import FreezeService
from idverify.cases.repository import RiskObservationApplicantKeys
from idverify.cases.service import CaseService
from idverify.cases.verifications import SqlReportedVerifications, SqlVerificationProofs
from idverify.config import ConfigError, Settings
from idverify.domain.callers import Caller
from idverify.domain.ports import Clock, Random, SimSwapLookup, SystemClock, SystemRandom
from idverify.domain.repositories import AuditEvent
from idverify.domain.session import VerificationSession
from idverify.domain.values import Factor
from idverify.factors.document import DocumentPolicy
from idverify.factors.messages_otp import completion_notice_text
from idverify.factors.otp import OtpService
from idverify.factors.otp_limits import OtpLimits
from idverify.factors.totp import TotpService
from idverify.ml.document_reader import OcrDocumentReader
from idverify.ml.imaging import PIXEL_LIMITS, ImageKind
from idverify.ml.ocr import RapidOcrDocumentReader
from idverify.ml.ocr_fields import PypinyinRomanizer
from idverify.ml.pool import InferencePool, PooledFrameObserver, PooledPortraitReader
from idverify.outbox import (
    OutboxDispatcher,
    QueuedAlertSink,
    QueuedCaseNotifier,
    QueuedSmsSender,
)
from idverify.outbox.writers import COMPLETION_NOTICE, OTP_CODE
from idverify.privacy.blind_index import BlindIndex
from idverify.privacy.cipher import FieldCipher
from idverify.privacy.keys import ConfigKeyProvider
from idverify.privacy.sealing import SealedFields
from idverify.risk.check import EngineRiskCheck
from idverify.risk.engine import RiskEngine
from idverify.risk.rules import NightBurstRule, RiskRules
from idverify.risk.store import SqlSignalStore
from idverify.staff.authenticators import SqlStaffTotpStore, StaffLockoutCounters
from idverify.staff.reads import StaffReads
from idverify.staff.sessions import StaffSessions
from idverify.storage import migrate
from idverify.storage.counters import SqlCounterStore
from idverify.storage.engine import ensure_sqlite_folder, make_engine
from idverify.storage.otp_store import SqlOtpStore, SqlTotpStore
from idverify.storage.sql_liveness import SqlLivenessCaptures
from idverify.storage.sql_outbox import SqlOutbox
from idverify.storage.unit_of_work import SqlUnitOfWork
from idverify.tokens.evidence import sign_bundle
from idverify.tokens.issuer import JwsTokenIssuer
from idverify.tokens.keys import KeyRing
from idverify.tokens.server_verifier import KeyRingTokenVerifier
from idverify.transport import rpc_executor
from idverify.transport.admin_http import AdminHttpServer
from idverify.transport.auth import ApiKeysFile, Authenticator, key_entries
from idverify.transport.case_servicer import AuditServicer, CaseServicer, actor_of
from idverify.transport.edge import PhoneRules
from idverify.transport.face_servicer import FaceServicer
from idverify.transport.interceptors import ServiceInterceptor
from idverify.transport.server import GrpcServer, Servicers, TlsFiles
from idverify.transport.token_servicer import TokenServicer
from idverify.transport.verification_servicer import VerificationServicer
from idverify.transport_config import parse_api_keys
from idverify.usecases.document import DocumentSteps
from idverify.usecases.face import ChallengeLimits, FaceSteps
from idverify.usecases.otp import OtpSteps
from idverify.usecases.tokens import Tokens
from idverify.usecases.verification import Verifications
from idverify.wiring.audit import acting, entry_of
from idverify.wiring.dev import (
    ensure_dev_api_keys,
    ensure_dev_secrets,
    load_key_ring,
    load_policy,
)
from idverify.wiring.face import FaceStack, committed_pad_dir, default_models_dir, load_face, load_pad
from idverify.wiring.messaging import build_outbox
from idverify.wiring.person import person_side

#: Also importable from here, where the tests and the demo look for them.
__all__ = ["App", "FaceStack", "audit_tools", "build", "committed_pad_dir", "default_models_dir", "load_pad",
           "prepare_workers"]

log = structlog.get_logger("idverify.app")
CAPABILITY = Gauge("idverify_capability", "What this deployment runs (1 for the current state)", ["name", "state"],
                   multiprocess_mode="max")  # every worker of `serve --workers N` reports the same


@dataclass
class App:
    settings: Settings
    engine: Engine
    grpc: GrpcServer
    admin: AdminHttpServer
    verifications: Verifications
    tokens: Tokens
    key_ring: KeyRing
    issuer: JwsTokenIssuer
    outbox: OutboxDispatcher | None = None
    audit_sealer: AuditSealer | None = None

    def start(self) -> None:
        self.admin.start()
        self.grpc.start()
        if self.outbox is not None:
            self.outbox.start()
        if self.audit_sealer is not None:
            self.audit_sealer.start(self.settings.audit_seal_interval_s)
        log.info("serving", grpc_port=self.grpc.port, admin_port=self.admin.port,
                 environment=self.settings.environment)

    def stop(self, grace_s: float = 10.0) -> None:
        log.info("stopping", grace_s=grace_s)
        self.grpc.stop(grace_s)
        if self.outbox is not None:  # after the RPCs: what they committed is already in the table
            self.outbox.stop(timeout_s=min(grace_s, 5.0))
        if self.audit_sealer is not None:  # seals and exports what the last RPCs appended
            self.audit_sealer.stop()
        self.admin.stop()
        self.engine.dispose()


def database_ready(engine: Engine) -> bool:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:  # noqa: BLE001 - any failure means not ready
        return False


def prepare_workers(settings: Settings) -> Settings:
    """What `serve --workers N` does once in the parent before starting the workers, so they never race on it:
    development secrets, API keys and signing key created, migrations run. Returns the settings the workers get
    (migrations off: they only check the revision). Raises ``ConfigError``."""
    random = SystemRandom()
    settings = ensure_dev_api_keys(ensure_dev_secrets(settings, random), random)
    load_key_ring(settings, SystemClock(), random)
    ensure_sqlite_folder(settings.database_url)
    engine = make_engine(settings.database_url, prepared_statements=settings.database_prepared_statements)
    try:
        if settings.migrate_on_start:
            migrate.upgrade(engine)
        elif migrate.current_revision(engine) != migrate.head_revision():
            raise ConfigError("the database is not at the latest migration; run `idverify db upgrade`")
        if engine.dialect.name == "sqlite":
            log.warning("sqlite_shared_by_workers", workers=settings.workers,
                        hint="writers of different workers wait on SQLite's busy timeout; use PostgreSQL to scale")
    finally:
        engine.dispose()
    return replace(settings, migrate_on_start=False)


def audit_tools(settings: Settings) -> tuple[AuditLog, AuditSealer, Engine, dict[str, Ed25519PublicKey]]:
    """The audit log, a sealer, the engine and the checkpoint keys, for ``idverify audit`` (no server)."""
    clock, random = SystemClock(), SystemRandom()
    settings = ensure_dev_secrets(settings, random)
    ensure_sqlite_folder(settings.database_url)
    engine = make_engine(settings.database_url, prepared_statements=settings.database_prepared_statements)
    if settings.audit_key is None:
        raise ConfigError("IDVERIFY_AUDIT_KEY is required to check the audit trail")
    key = AuditKey(settings.audit_key.reveal())
    ring = load_key_ring(settings, clock, random)

    def signer() -> CheckpointSigner:
        assert ring.active.private_key is not None
        return CheckpointSigner(ring.active.private_key, ring.active.kid)

    sealer = AuditSealer(engine=engine, key=key, signer=signer, clock=clock)
    return AuditLog(key=key, clock=clock, random=random), sealer, engine, {k.kid: k.public_key for k in ring.keys}


def build(settings: Settings, *, clock: Clock | None = None, random: Random | None = None,
          sim_swap: SimSwapLookup | None = None) -> App:
    """Build the whole service. Raises ``ConfigError`` for anything that cannot work. ``sim_swap`` is a carrier
    lookup adapter (none ships: carriers' APIs are contracts of each lender's own)."""
    clock = clock or SystemClock()
    random = random or SystemRandom()
    settings = ensure_dev_api_keys(ensure_dev_secrets(settings, random), random)
    ensure_sqlite_folder(settings.database_url)
    engine = make_engine(settings.database_url, prepared_statements=settings.database_prepared_statements,
                         pool_size=settings.pool_size)
    if settings.migrate_on_start:
        migrate.upgrade(engine)
    elif migrate.current_revision(engine) != migrate.head_revision():
        raise ConfigError("the database is not at the latest migration; run `idverify db upgrade`")

    assert settings.index_key is not None
    assert settings.pairwise_secret is not None
    keys = ConfigKeyProvider(
        data_keys={kid: secret.reveal() for kid, secret in settings.data_keys},
        active_kid=settings.data_keys[0][0],
        index_key=settings.index_key.reveal(),
    )
    cipher = FieldCipher(keys, random)
    protector = SealedFields(cipher)
    # TOTP secrets sealed before they went through the field cipher used one of these keys (the first at the time).
    legacy_totp_keys = tuple(secret.reveal() for _, secret in settings.data_keys)
    key_ring = load_key_ring(settings, clock, random)
    active = key_ring.active
    assert active.private_key is not None
    assert settings.audit_key is not None
    audit_key = AuditKey(settings.audit_key.reveal())
    audit = AuditLog(key=audit_key, clock=clock, random=random)

    def checkpoint_signer() -> CheckpointSigner:
        signing = key_ring.active
        assert signing.private_key is not None
        return CheckpointSigner(signing.private_key, signing.kid)

    def publish_checkpoint(conn: Connection, checkpoint: Checkpoint) -> None:
        outbox_on(conn).webhook("audit", "audit.checkpoint", checkpoint.to_json())

    sealer = AuditSealer(engine=engine, key=audit_key, signer=checkpoint_signer, clock=clock,
                         publish=publish_checkpoint if settings.audit_webhook_url else None)

    def record(conn: Connection, event: AuditEvent) -> None:
        audit.append(conn, entry_of(event))

    dispatcher = build_outbox(settings, engine, protector, clock, random)

    def outbox_on(conn: Connection) -> SqlOutbox:
        return SqlOutbox(conn, protector, clock=clock, random=random, on_commit=dispatcher.wake)

    def uow() -> SqlUnitOfWork:
        return SqlUnitOfWork(engine, protector, record,
                             totp=lambda conn: SqlTotpStore(conn, protector, legacy_totp_keys),
                             outbox=outbox_on, audit_row=lambda event: audit.row(entry_of(event)))

    def on_refused(caller: Caller | None, method: str, reason: str) -> None:
        try:
            with engine.begin() as conn:
                audit.append(conn, AuditEntry(
                    actor=actor_of(caller) if caller is not None else Actor("anonymous", "none"),
                    action="rpc.refused", object_type="rpc", object_id=method.rsplit("/", 1)[-1],
                    outcome="refused", reason_code=reason))
        except Exception:
            log.exception("audit_refusal_failed", method=method, reason=reason)

    index = BlindIndex(settings.index_key.reveal())
    approvals = ApprovalService(audit=audit, clock=clock, random=random,
                                applicant_keys=RiskObservationApplicantKeys(index),
                                rules=ApprovalRules(roles=frozenset({"support", "risk_analyst", "admin"})))
    freezes = FreezeService(audit=audit, clock=clock, random=random, proofs=SqlVerificationProofs(),
                            approvals=approvals)
    cases = CaseService(audit=audit, clock=clock, random=random, reported=SqlReportedVerifications(),
                        freezes=freezes, approvals=approvals, cipher=cipher)
    notify_case = QueuedCaseNotifier(uow, webhook=bool(settings.case_webhook_url), outbox_on=outbox_on)
    desk = CaseDesk(engine=engine, audit=audit, clock=clock, cases=cases, freezes=freezes, approvals=approvals,
                    public_keys=lambda: {k.kid: k.public_key for k in key_ring.keys},
                    sign=lambda bundle: sign_bundle(key_ring, bundle), notify=notify_case, uow=uow)
    sink = QueuedAlertSink(uow, webhook=bool(settings.risk_webhook_url))
    rules = RiskRules(night_burst=NightBurstRule(max_starts=settings.risk_night_burst_max_starts))
    risk = EngineRiskCheck(RiskEngine(store=SqlSignalStore(), clock=clock, sink=sink, freezes=freezes.repo,
                                      rules=rules), index)
    issuer = JwsTokenIssuer(
        key_ring=key_ring,
        issuer=settings.token_issuer,
        audience=settings.token_audiences,
        subject_secret=settings.pairwise_secret.reveal(),
        clock=clock,
        random=random,
        ttl_s=settings.token_ttl_s,
    )
    verifier = KeyRingTokenVerifier(key_ring, settings.token_issuer, settings.token_audiences)
    assert settings.otp_key is not None
    otp_limits = OtpLimits(allowed_calling_codes=settings.sms_allowed_country_codes)
    # Texts are queued in the request's transaction and sent by the dispatcher; a code's text expires with it.
    sender = QueuedSmsSender(uow, event_type=OTP_CODE, expires_in_s=otp_limits.ttl_s)
    notices = QueuedSmsSender(uow, event_type=COMPLETION_NOTICE)
    person = person_side(settings, uow=uow, clock=clock, random=random, index=index, notify=notices.send,
                         sim_swap=sim_swap)
    counters = SqlCounterStore(engine)
    otp = OtpService(store=SqlOtpStore(engine), counters=counters, sender=sender, clock=clock, random=random,
                     digest_key=settings.otp_key.reveal(), limits=otp_limits)
    totp = TotpService(store=SqlTotpStore(engine, protector, legacy_totp_keys), counters=counters,
                       clock=clock, random=random)
    pool = InferencePool(workers=2, max_pending=settings.inference_queue, waiting=rpc_executor.waiting)
    face = load_face(settings) if settings.face == "on" else None
    available = {Factor.SMS_OTP, Factor.TOTP, Factor.DEVICE_KEY}
    if face is not None:
        available |= {Factor.LIVENESS, Factor.FACE_MATCH_ENROLLED}
    if settings.documents == "on":
        available.add(Factor.DOCUMENT)
        if face is not None:
            available.add(Factor.FACE_MATCH_DOCUMENT)
    policy = load_policy(settings, frozenset(available))

    def notify_completed(session: VerificationSession, phone: str) -> None:
        ctx = session.context
        body = completion_notice_text(ctx.locale, settings.lender_name, ctx.amount.value, ctx.amount.currency,
                                      session.completed_at or clock.now(), session.reference)
        notices.send(phone, body)  # into the completion's own transaction (see Verifications.complete)

    verifications = Verifications(
        uow=uow, clock=clock, random=random, policy=policy, issuer=issuer, notify_completed=notify_completed,
        risk=risk, available=frozenset(available), pad_installed=face is not None and face.pad_loaded,
        devices=person.check,
        has_enrolled_face=lambda u, applicant: face is not None and u.faces.enrolled(applicant) is not None)
    face_steps = None
    if face is not None:
        face_steps = FaceSteps(
            verifications=verifications, uow=uow, clock=clock, random=random, liveness=face.liveness,
            observer=PooledFrameObserver(pool, face.observer), thresholds=face.thresholds, pad=face.pad_policy,
            detector_model_id=face.detector_id, captures=SqlLivenessCaptures(engine), count_challenges=True,
            capture_keys=EcdsaCaptureKeys(), attestor=NoPlatformAttestor(),
            max_frame_pixels=face.observer.max_frame_pixels,
            limits=ChallengeLimits(settings.liveness_challenges_per_verification,
                                   settings.liveness_challenges_per_hour))
    document_steps = None
    if settings.documents == "on":
        ocr = RapidOcrDocumentReader(threads=settings.inference_threads)
        ocr.warm_up_in_background()  # SERVING does not wait for OCR; a document request does
        document_steps = DocumentSteps(
            verifications=verifications, uow=uow, clock=clock,
            reader=OcrDocumentReader(ocr, pool, max_bytes=settings.max_message_bytes,
                                     max_pixels=PIXEL_LIMITS[ImageKind.DOCUMENT_PAGE]),
            policy=DocumentPolicy(), romanizer=PypinyinRomanizer(), faces=face_steps,
            portraits=PooledPortraitReader(pool, face.matcher.document_embedding) if face is not None else None)
    otp_steps = OtpSteps(verifications=verifications, uow=uow, clock=clock, otp=otp, totp=totp,
                         lender_name=settings.lender_name)
    tokens = Tokens(uow=uow, clock=clock, verifier=verifier, random=random)

    def jwks() -> dict[str, Any]:
        return key_ring.jwks(clock.now())

    keys_file = None
    if settings.api_keys_file is not None:
        keys_file = ApiKeysFile(settings.api_keys_file, lambda text: key_entries(parse_api_keys(text)),
                                recheck_s=settings.api_keys_recheck_s)
    # Staff sign-in for the console (issue 17): own API key + own authenticator -> a short-lived staff session.
    staff_sessions = StaffSessions(engine=engine, audit=audit, clock=clock, random=random, totp=TotpService(
        store=SqlStaffTotpStore(engine, cipher), counters=StaffLockoutCounters(counters), clock=clock, random=random))
    staff_reads = StaffReads(engine=engine, audit=audit, clock=clock)
    try:
        authenticator = Authenticator(key_entries(settings.api_keys), settings.mtls_callers, keys_file, staff_sessions,
                                      staff_sessions_required=settings.staff_sessions_required)
    except ValueError as exc:  # a keys-file caller with both staff and service roles (the others: Settings)
        raise ConfigError(f"IDVERIFY_API_KEYS_FILE: {exc}") from None
    tls = None
    if settings.tls_cert_file is not None and settings.tls_key_file is not None:
        tls = TlsFiles(settings.tls_cert_file, settings.tls_key_file, settings.tls_client_ca_file)
    phones = PhoneRules(settings.sms_allowed_country_codes)
    server = GrpcServer(
        address=settings.grpc_address,
        servicers=Servicers(
            verification=VerificationServicer(verifications, otp=otp_steps, face=face_steps, document=document_steps,
                                              max_liveness_frames=face.liveness.max_frames if face else 20,
                                              phones=phones),
            token=TokenServicer(tokens, jwks),
            case=CaseServicer(desk, index, reads=staff_reads, sessions=staff_sessions, phones=phones),
            audit=AuditServicer(desk, reads=staff_reads),
            face=FaceServicer(face.matcher if face else None, pool),
            person=person.servicer(verifications, desk, acting),
        ),
        interceptors=[ServiceInterceptor(authenticator, on_refused,
                                         client_certificates=tls is not None and tls.client_ca is not None)],
        workers=settings.grpc_workers,
        concurrency=settings.grpc_concurrency,
        max_message_bytes=settings.max_message_bytes,
        tls=tls,
        ready_check=lambda: database_ready(engine),
        reuse_port=settings.workers > 1,
    )
    capabilities = {
        "face": "loaded" if face is not None else "off",
        "passive_pad": "loaded" if face is not None and face.pad_loaded else (
            "off" if settings.pad == "off" else "not installed"),
        "documents": settings.documents,
        "sms_sender": settings.sms_sender,
    }
    for name, state in capabilities.items():
        CAPABILITY.labels(name, state).set(1)
    admin = AdminHttpServer(settings.admin_address, jwks, lambda: database_ready(engine), capabilities)
    return App(settings=settings, engine=engine, grpc=server, admin=admin, verifications=verifications,
               tokens=tokens, key_ring=key_ring, issuer=issuer, outbox=dispatcher, audit_sealer=sealer)
