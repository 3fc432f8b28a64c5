"""The document step of a verification: read the document, check it against itself, the applicant's typed values
and the account holder's record, record the result, and hand its portrait to the face match."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta, timezone
from typing import Protocol

from idverify.domain.errors import InvalidArgument
from idverify.domain.face import Embedding
from idverify.domain.ports import Clock
from idverify.domain.repositories import UnitOfWork
from idverify.domain.values import ApplicationContext, Factor, FactorResult, Outcome
from idverify.factors.document import (
    AccountHolder,
    ApplicantClaims,
    DocumentDecision,
    DocumentFields,
    DocumentPolicy,
    DocumentType,
    Romanizer,
    evaluate_document,
)
from idverify.factors.document import Outcome as DocumentOutcome
from idverify.usecases.face import FaceSteps, PortraitReader
from idverify.usecases.units import unit
from idverify.usecases.verification import Verifications

_CST = timezone(timedelta(hours=8), "CST")

_OUTCOME = {
    DocumentOutcome.PASS: Outcome.PASSED,
    DocumentOutcome.FAIL: Outcome.FAILED,
    DocumentOutcome.REVIEW: Outcome.INCONCLUSIVE,
}


class DocumentReader(Protocol):
    def read(self, document_type: DocumentType, front: bytes, back: bytes, *, today: date) -> DocumentFields: ...


@dataclass(frozen=True, slots=True)
class DocumentOutcomeResult:
    result: FactorResult
    fields: DocumentFields
    decision: DocumentDecision
    face_matches: tuple[FactorResult, ...]


class DocumentSteps:
    def __init__(
        self,
        *,
        verifications: Verifications,
        uow: Callable[[], UnitOfWork],
        clock: Clock,
        reader: DocumentReader,
        policy: DocumentPolicy,
        romanizer: Romanizer | None,
        faces: FaceSteps | None,
        portraits: PortraitReader | None,
        today: Callable[[], date] | None = None,
    ) -> None:
        self._v = verifications
        self._uow = uow
        self._clock = clock
        self._reader = reader
        self._policy = policy
        self._romanizer = romanizer
        self._faces = faces
        self._portraits = portraits
        # The application date is the lender's (China Standard Time) calendar day, not UTC's.
        self._today = today or (lambda: self._clock.now().astimezone(_CST).date())

    def submit(self, context: ApplicationContext, session_id: str, document_type: DocumentType, *, front: bytes,
               back: bytes, claims: ApplicantClaims | None, holder: AccountHolder | None) -> DocumentOutcomeResult:
        """Check one document. Bad images raise InvalidArgument and record nothing; a document that fails its
        checks is a FAILED result (INCONCLUSIVE when a person should review it).

        Reading (OCR) and the portrait's template run before the transaction; the session is then read, the
        result recorded and the portrait matched in one unit of work."""
        today = self._today()
        fields = self._reader.read(document_type, front, back, today=today)
        decision = evaluate_document(fields, application_date=today, claims=claims, holder=holder,
                                     policy=self._policy, romanizer=self._romanizer)
        portrait: Embedding | None = None
        unreadable = ""
        if decision.outcome is DocumentOutcome.PASS and self._faces is not None and self._portraits is not None:
            try:
                portrait = self._portraits.document_embedding(front)
            except InvalidArgument as err:
                unreadable = err.code
        with unit(self._uow) as uow:
            session = self._v.load_active(uow, context, session_id, Factor.DOCUMENT)
            primary = decision.reason_codes[0] if decision.reason_codes else "ok"
            result = FactorResult(Factor.DOCUMENT, _OUTCOME[decision.outcome], primary, self._clock.now())
            session = self._v.record_in(uow, session, result)
            matches: tuple[FactorResult, ...] = ()
            wants_match = (decision.outcome is DocumentOutcome.PASS and not session.is_terminal
                           and Factor.FACE_MATCH_DOCUMENT in session.required and self._faces is not None)
            if wants_match and unreadable:
                session = self._v.record_in(uow, session, FactorResult(
                    Factor.FACE_MATCH_DOCUMENT, Outcome.INCONCLUSIVE, unreadable, self._clock.now()))
                matches = (session.results[-1],)
            elif wants_match and portrait is not None and self._faces is not None:
                matches = self._faces.store_portrait(uow, context, session, portrait)
        return DocumentOutcomeResult(result=result, fields=fields, decision=decision, face_matches=matches)
