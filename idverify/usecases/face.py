"""Face steps of a verification: the active liveness challenge (with passive PAD where installed), matching the
live selfie against the document portrait and the enrolled face, and enrolment.

Liveness challenges are scarce (issue 20): at most ``ChallengeLimits.per_verification`` per verification and
``per_hour`` per applicant and per device in a clock hour, counted in durable counters shared by every replica; a
refused request is recorded as a failed liveness attempt (the risk engine sees it) and answered
``RESOURCE_EXHAUSTED liveness_challenges_exhausted``. What a challenge declares beyond its poses (the colour
sequence, ``mirrored``, the capture key, the attestation verdict) is kept in :class:`LivenessCaptures`."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from idverify.domain.errors import FailedPrecondition, InvalidArgument, ResourceExhausted
from idverify.domain.face import Embedding
from idverify.domain.ports import CaptureKeys, Clock, PlatformAttestor, Random
from idverify.domain.repositories import EnrolledTemplate, StoredChallenge, UnitOfWork
from idverify.domain.session import Status, VerificationSession
from idverify.domain.values import ApplicationContext, Factor, FactorResult, Outcome
from idverify.factors import face_match
from idverify.factors.face_match import Comparison, MatchThresholds
from idverify.factors.light_challenge import LightStep
from idverify.factors.liveness import (
    GUIDANCE,
    AttestationVerdict,
    CaptureEvidence,
    Challenge,
    ChallengeStep,
    FrameObserver,
    LivenessConfig,
    LivenessResult,
    PadPolicy,
    Pose,
    SubmittedFrame,
    evaluate,
    frame_message,
    start_challenge,
)
from idverify.usecases.ids import new_id
from idverify.usecases.units import KeepAndRaise, unit
from idverify.usecases.verification import Verifications

#: How long a session's selfie and document-portrait templates are kept after the session's own expiry.
TEMPLATE_GRACE = timedelta(minutes=30)


class PortraitReader(Protocol):
    """Finds the largest face on a document photograph and returns its template (the image is not kept)."""

    def document_embedding(self, image: bytes) -> Embedding: ...


@dataclass(frozen=True, slots=True)
class ChallengeLimits:
    """Challenges per verification (ever) and per applicant and per device (each clock hour)."""

    per_verification: int = 3
    per_hour: int = 10


@dataclass(frozen=True, slots=True)
class CaptureRecord:
    """What a challenge declared beyond its poses. ``light``: (0xRRGGBB, duration_ms) per step."""

    challenge_id: str
    session_id: str
    light: tuple[tuple[int, int], ...]
    mirrored: bool
    capture_key: str | None = field(repr=False)
    attestation: str | None
    expires_at: datetime


class LivenessCaptures(Protocol):
    """Capture records, written and read in the caller's unit of work (one transaction per RPC)."""

    def put(self, record: CaptureRecord, uow: UnitOfWork) -> None: ...

    def get(self, challenge_id: str, uow: UnitOfWork) -> CaptureRecord | None: ...


class ChallengeCounter(Protocol):
    """A durable fixed-window counter (``idverify.storage.counters.SqlCounterStore`` satisfies it)."""

    def hit(self, key: str, window_start: datetime, expires_at: datetime) -> int: ...


class BudgetUnitOfWork(UnitOfWork, Protocol):
    """A unit of work whose counters join its transaction (``SqlUnitOfWork.otp_counters``)."""

    @property
    def otp_counters(self) -> ChallengeCounter: ...


@dataclass(frozen=True, slots=True)
class CaptureDeclaration:
    """What the client declares at a challenge's start (docs/liveness.md, section 1)."""

    mirrored: bool = False
    capture_key_jwk: str = field(default="", repr=False)
    attestation_platform: str = ""
    attestation_token: bytes = field(default=b"", repr=False)


def attestation_binding(session_id: str, capture_key_jwk: str) -> str:
    """What the app binds its platform attestation to (the request hash / nonce it passes to the platform):
    hex SHA-256 of ``session_id`` and the capture key's JWK as sent, joined by ``|``."""
    return hashlib.sha256(f"{session_id}|{capture_key_jwk}".encode()).hexdigest()


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class CaptureRules:
    """The frame rules a capture must follow, as sent to the client (``LivenessCapture``)."""

    min_frames: int
    max_frames: int
    min_interval_ms: int
    max_interval_ms: int
    max_median_interval_ms: int
    max_frame_pixels: int
    min_frames_per_light_step: int


@dataclass(frozen=True, slots=True)
class LivenessOutcome:
    result: FactorResult
    liveness: LivenessResult
    matches: tuple[FactorResult, ...]


class FaceSteps:
    def __init__(
        self,
        *,
        verifications: Verifications,
        uow: Callable[[], BudgetUnitOfWork],
        clock: Clock,
        random: Random,
        liveness: LivenessConfig,
        observer: FrameObserver,
        thresholds: MatchThresholds,
        pad: PadPolicy | None,
        detector_model_id: str,
        captures: LivenessCaptures | None = None,
        count_challenges: bool = False,
        capture_keys: CaptureKeys | None = None,
        attestor: PlatformAttestor | None = None,
        limits: ChallengeLimits | None = None,
        max_frame_pixels: int = 1280 * 720,
    ) -> None:
        self._max_frame_pixels = max_frame_pixels
        self._captures = captures
        self._count_challenges = count_challenges
        self._capture_keys = capture_keys
        self._attestor = attestor
        self._limits = limits or ChallengeLimits()
        self._v = verifications
        self._uow = uow
        self._clock = clock
        self._random = random
        self._config = liveness
        self._observer = observer
        self._thresholds = thresholds
        self._pad = pad
        self._detector = detector_model_id

    def start_liveness(self, context: ApplicationContext, session_id: str,
                       declaration: CaptureDeclaration | None = None) -> tuple[str, Challenge]:
        """Issue a server-random challenge (head poses and a screen-colour sequence) for an active verification
        that requires liveness.

        Raises InvalidArgument ``capture_key_invalid`` for an unusable capture key, ResourceExhausted
        ``liveness_challenges_exhausted`` past the challenge budget (recorded as a failed liveness attempt).
        """
        declaration = declaration or CaptureDeclaration()
        capture_key = None
        if declaration.capture_key_jwk:
            if self._capture_keys is None:
                raise InvalidArgument("capture_key_invalid", "this deployment does not accept capture keys")
            capture_key = self._capture_keys.normalise(declaration.capture_key_jwk)
        challenge = start_challenge(session_id, self._clock, self._random, self._config,
                                    mirrored=declaration.mirrored, capture_key=capture_key)
        challenge_id = new_id(self._random, "lc")
        judged = bool(declaration.attestation_platform) and self._attestor is not None
        with unit(self._uow) as uow:
            session = self._v.load_active(uow, context, session_id, Factor.LIVENESS)
            self._spend_budget(uow, context, session)
            if not judged:
                self._issue(uow, session, challenge_id=challenge_id, challenge=challenge, declaration=declaration,
                            capture_key=capture_key, attestation=None)
        if judged:
            # The platform's judgement is a remote call made outside any transaction, after the budget committed,
            # so a request that fails from here on has still used one challenge (the budget bounds those calls).
            attestation = self._judge(session_id, declaration)
            with unit(self._uow) as uow:
                session = self._v.load_active(uow, context, session_id, Factor.LIVENESS)
                self._issue(uow, session, challenge_id=challenge_id, challenge=challenge, declaration=declaration,
                            capture_key=capture_key, attestation=attestation)
        if self._captures is None:  # nowhere to keep the colours: the challenge asks for none
            challenge = Challenge(session_id=challenge.session_id, nonce=challenge.nonce, steps=challenge.steps,
                                  issued_at=challenge.issued_at, deadline=challenge.deadline,
                                  mirrored=challenge.mirrored, capture_key=challenge.capture_key)
        return challenge_id, challenge

    def _issue(self, uow: BudgetUnitOfWork, session: VerificationSession, *, challenge_id: str, challenge: Challenge,
               declaration: CaptureDeclaration, capture_key: str | None, attestation: str | None) -> None:
        """Store the challenge and what its capture declared, in ``uow``."""
        if self._captures is not None:
            self._captures.put(CaptureRecord(
                challenge_id=challenge_id, session_id=session.session_id,
                light=tuple((step.rgb, step.duration_ms) for step in challenge.light),
                mirrored=declaration.mirrored, capture_key=capture_key, attestation=attestation,
                expires_at=session.expires_at + TEMPLATE_GRACE), uow)
        uow.faces.add_challenge(StoredChallenge(
            challenge_id=challenge_id, session_id=session.session_id, nonce=challenge.nonce,
            poses=tuple(step.pose.value for step in challenge.steps), issued_at=challenge.issued_at,
            deadline=challenge.deadline))

    def capture_rules(self) -> CaptureRules:
        c = self._config
        return CaptureRules(c.min_frames, c.max_frames, c.continuity.min_interval_ms, c.continuity.max_interval_ms,
                            c.continuity.max_median_interval_ms, self._max_frame_pixels,
                            c.light.min_frames_per_step)

    def _spend_budget(self, uow: BudgetUnitOfWork, context: ApplicationContext, session: VerificationSession) -> None:
        """Count this challenge against its budgets in ``uow``; past one, record a failed liveness attempt, commit
        (the counts and the attempt) and raise ``liveness_challenges_exhausted``."""
        if not self._count_challenges:
            return
        now = self._clock.now()
        hour = now.replace(minute=0, second=0, microsecond=0)
        next_hour = hour + timedelta(hours=1)
        spends = [(f"liveness:session:{session.session_id}", _EPOCH, session.expires_at + TEMPLATE_GRACE,
                   self._limits.per_verification, None),
                  (f"liveness:applicant:{context.applicant_id}", hour, next_hour + timedelta(hours=1),
                   self._limits.per_hour, next_hour)]
        if context.device_id:
            spends.append((f"liveness:device:{context.device_id}", hour, next_hour + timedelta(hours=1),
                           self._limits.per_hour, next_hour))
        for key, window, expires, limit, retry_at in spends:
            if uow.otp_counters.hit(key, window, expires) > limit:
                self._v.record_in(uow, session, FactorResult(
                    Factor.LIVENESS, Outcome.FAILED, "liveness_challenges_exhausted", now,
                    model_id=self._detector))
                retry = (retry_at - now).total_seconds() if retry_at is not None else None
                raise KeepAndRaise(ResourceExhausted("liveness_challenges_exhausted",
                                                     "no more liveness challenges for now", retry_after_s=retry))

    def _judge(self, session_id: str, declaration: CaptureDeclaration) -> str | None:
        if not declaration.attestation_platform or self._attestor is None:
            return None
        verdict = self._attestor.judge(declaration.attestation_platform, declaration.attestation_token,
                                       attestation_binding(session_id, declaration.capture_key_jwk))
        return verdict if verdict in ("genuine", "failed") else None

    def submit_frames(self, context: ApplicationContext, session_id: str, challenge_id: str,
                      frames: Sequence[SubmittedFrame]) -> LivenessOutcome:
        """Judge the frames of a challenge, record liveness, then run the face matches the policy requires.

        The frames are observed (decoding, detection, embedding, PAD) before the transaction; the challenge is
        then consumed, the verdict recorded and the matches run in one unit of work. Unusable input (too many
        frames, undecodable images) raises InvalidArgument and still uses up the challenge (one answer per
        challenge); a used or unknown challenge raises FailedPrecondition / NotFound.
        """
        refusal: InvalidArgument | None = None
        observations = None
        if len(frames) > self._config.max_frames:
            refusal = InvalidArgument("liveness_frame_count", f"send at most {self._config.max_frames} frames")
        else:
            try:
                observations = self._observer.observe(frames)
            except InvalidArgument as bad:
                refusal = bad
        with unit(self._uow) as uow:
            session = self._v.load_active(uow, context, session_id, Factor.LIVENESS)
            stored = uow.faces.take_challenge(challenge_id, session_id)
            record = self._captures.get(challenge_id, uow) if self._captures is not None else None
            if record is not None and record.session_id != session_id:
                record = None
            if refusal is not None or observations is None:
                raise KeepAndRaise(refusal or InvalidArgument("liveness_frame_count", "no frames were sent"))
            challenge = Challenge(
                session_id=session_id, nonce=stored.nonce,
                steps=tuple(ChallengeStep(Pose(p), dict(GUIDANCE[Pose(p)])) for p in stored.poses),
                issued_at=stored.issued_at, deadline=stored.deadline,
                light=tuple(LightStep(rgb, ms) for rgb, ms in record.light) if record else (),
                mirrored=record.mirrored if record else False,
                capture_key=record.capture_key if record else None)
            now = self._clock.now()
            evidence = CaptureEvidence(signed=self._signed(challenge, frames),
                                       attestation=AttestationVerdict(record.attestation)
                                       if record and record.attestation else None)
            verdict = evaluate(challenge, observations, now, config=self._config, pad=self._pad,
                               evidence=evidence)
            result = FactorResult(
                Factor.LIVENESS, Outcome.PASSED if verdict.passed else Outcome.FAILED,
                "ok" if verdict.passed else (verdict.primary_reason or "liveness_failed"), now,
                score=verdict.aggregate_score or 0.0, threshold=self._pad.threshold if self._pad else 0.0,
                model_id=self._detector, pad_ran=verdict.pad_ran, evidence=verdict.evidence)
            session = self._v.record_in(uow, session, result)
            matches: tuple[FactorResult, ...] = ()
            if verdict.passed and verdict.selfie_embedding is not None:
                uow.faces.put_selfie(session_id, verdict.selfie_embedding, session.expires_at + TEMPLATE_GRACE)
                matches = self._run_matches(uow, context, session, verdict.selfie_embedding)
        return LivenessOutcome(result=result, liveness=verdict, matches=matches)

    def _signed(self, challenge: Challenge, frames: Sequence[SubmittedFrame]) -> bool | None:
        """None without a capture key; else whether every frame carries a valid signature."""
        if challenge.capture_key is None:
            return None
        if self._capture_keys is None or not frames:
            return False
        key, keys = challenge.capture_key, self._capture_keys
        return all(keys.verify(key, frame_message(f.image, challenge.nonce, f.sequence, f.captured_at_ms),
                               f.signature) for f in frames)

    def store_portrait(self, uow: UnitOfWork, context: ApplicationContext, session: VerificationSession,
                       portrait: Embedding) -> tuple[FactorResult, ...]:
        """Keep a document portrait's template for this session and match it against the selfie if there is one
        (in the caller's unit of work)."""
        uow.faces.put_portrait(session.session_id, portrait, session.expires_at + TEMPLATE_GRACE)
        selfie, _ = uow.faces.session_templates(session.session_id)
        if selfie is None:
            return ()
        return self._run_matches(uow, context, session, selfie, only=Factor.FACE_MATCH_DOCUMENT)

    def _run_matches(self, uow: UnitOfWork, context: ApplicationContext, session: VerificationSession,
                     selfie: Embedding, only: Factor | None = None) -> tuple[FactorResult, ...]:
        _, portrait = uow.faces.session_templates(session.session_id)
        enrolled = uow.faces.enrolled(context.applicant_id)
        wanted: list[tuple[Factor, Comparison, Embedding]] = []
        if Factor.FACE_MATCH_DOCUMENT in session.required and portrait is not None:
            wanted.append((Factor.FACE_MATCH_DOCUMENT, Comparison.SELFIE_VS_DOCUMENT, portrait))
        if Factor.FACE_MATCH_ENROLLED in session.required and enrolled is not None:
            wanted.append((Factor.FACE_MATCH_ENROLLED, Comparison.SELFIE_VS_ENROLLED, enrolled.embedding))
        results = []
        for factor, comparison, reference in wanted:
            if (only is not None and factor is not only) or session.is_terminal:
                continue
            match = face_match.compare(selfie, reference, comparison, self._thresholds)
            result = FactorResult(factor, Outcome.PASSED if match.matched else Outcome.FAILED,
                                  face_match.reason_code(match), self._clock.now(), score=match.score,
                                  threshold=match.threshold, model_id=match.model_id)
            session = self._v.record_in(uow, session, result)
            results.append(result)
        return tuple(results)

    def enroll(self, context: ApplicationContext, session_id: str, *, consent: bool,
               consent_text_version: str) -> EnrolledTemplate:
        """Store the account holder's template from a verification whose liveness passed, with consent.

        Replacing an existing template needs a completed verification in which the selfie matched the current
        template or a document portrait (so a thief with the phone cannot swap in their own face).
        """
        if not consent:
            raise FailedPrecondition("consent_missing", "the applicant's consent to biometric processing is required")
        with unit(self._uow) as uow:
            session = uow.sessions.get(session_id)
            session.belongs_to(context)
            if Factor.LIVENESS not in session.passed:
                raise FailedPrecondition("liveness_not_passed",
                                         "enrol only from a verification whose liveness passed")
            if uow.freezes.is_frozen(context.applicant_id):
                raise FailedPrecondition("identity_frozen", "this identity is frozen; no face can be enrolled")
            selfie, _ = uow.faces.session_templates(session_id)
            existing = uow.faces.enrolled(context.applicant_id)
            if selfie is None:
                raise FailedPrecondition("selfie_missing",
                                         "this verification has no live selfie (expired or not taken)")
            if existing is not None:
                strong = session.status is Status.COMPLETED and (
                    Factor.FACE_MATCH_ENROLLED in session.passed or Factor.FACE_MATCH_DOCUMENT in session.passed)
                if not strong:
                    raise FailedPrecondition("reenrolment_needs_high_assurance",
                                             "replacing a face needs a completed verification with a face match")
            template = EnrolledTemplate(
                template_id=new_id(self._random, "ft"), applicant_id=context.applicant_id, embedding=selfie,
                enrolled_at=self._clock.now(), session_id=session_id, consent_text_version=consent_text_version[:64])
            uow.faces.enrol(template)
        return template
