"""Face steps of a verification: the active liveness challenge (with passive PAD where installed), matching the
live selfie against the document portrait and the enrolled face, and enrolment."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from idverify.domain.errors import FailedPrecondition, InvalidArgument
from idverify.domain.face import Embedding
from idverify.domain.ports import Clock, Random
from idverify.domain.repositories import EnrolledTemplate, StoredChallenge, UnitOfWork
from idverify.domain.session import Status, VerificationSession
from idverify.domain.values import ApplicationContext, Factor, FactorResult, Outcome
from idverify.factors import face_match
from idverify.factors.face_match import Comparison, MatchThresholds
from idverify.factors.liveness import (
    GUIDANCE,
    Challenge,
    ChallengeStep,
    FrameObserver,
    LivenessConfig,
    LivenessResult,
    PadPolicy,
    Pose,
    SubmittedFrame,
    evaluate,
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
class LivenessOutcome:
    result: FactorResult
    liveness: LivenessResult
    matches: tuple[FactorResult, ...]


class FaceSteps:
    def __init__(
        self,
        *,
        verifications: Verifications,
        uow: Callable[[], UnitOfWork],
        clock: Clock,
        random: Random,
        liveness: LivenessConfig,
        observer: FrameObserver,
        thresholds: MatchThresholds,
        pad: PadPolicy | None,
        detector_model_id: str,
    ) -> None:
        self._v = verifications
        self._uow = uow
        self._clock = clock
        self._random = random
        self._config = liveness
        self._observer = observer
        self._thresholds = thresholds
        self._pad = pad
        self._detector = detector_model_id

    def start_liveness(self, context: ApplicationContext, session_id: str) -> tuple[str, Challenge]:
        """Issue a server-random head-pose challenge for an active verification that requires liveness."""
        with unit(self._uow) as uow:
            self._v.load_active(uow, context, session_id, Factor.LIVENESS)
            challenge = start_challenge(session_id, self._clock, self._random, self._config)
            challenge_id = new_id(self._random, "lc")
            uow.faces.add_challenge(StoredChallenge(
                challenge_id=challenge_id, session_id=session_id, nonce=challenge.nonce,
                poses=tuple(step.pose.value for step in challenge.steps), issued_at=challenge.issued_at,
                deadline=challenge.deadline))
        return challenge_id, challenge

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
            if refusal is not None or observations is None:
                raise KeepAndRaise(refusal or InvalidArgument("liveness_frame_count", "no frames were sent"))
            challenge = Challenge(
                session_id=session_id, nonce=stored.nonce,
                steps=tuple(ChallengeStep(Pose(p), dict(GUIDANCE[Pose(p)])) for p in stored.poses),
                issued_at=stored.issued_at, deadline=stored.deadline)
            now = self._clock.now()
            verdict = evaluate(challenge, observations, now, config=self._config, pad=self._pad)
            result = FactorResult(
                Factor.LIVENESS, Outcome.PASSED if verdict.passed else Outcome.FAILED,
                "ok" if verdict.passed else (verdict.primary_reason or "liveness_failed"), now,
                score=verdict.aggregate_score or 0.0, threshold=self._pad.threshold if self._pad else 0.0,
                model_id=self._detector, pad_ran=verdict.pad_ran)
            session = self._v.record_in(uow, session, result)
            matches: tuple[FactorResult, ...] = ()
            if verdict.passed and verdict.selfie_embedding is not None:
                uow.faces.put_selfie(session_id, verdict.selfie_embedding, session.expires_at + TEMPLATE_GRACE)
                matches = self._run_matches(uow, context, session, verdict.selfie_embedding)
        return LivenessOutcome(result=result, liveness=verdict, matches=matches)

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
