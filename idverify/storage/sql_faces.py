"""``FaceRepository`` on SQLAlchemy Core: challenges, per-session templates and enrolled templates."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import Connection, select

from idverify.domain.errors import FailedPrecondition, NotFound
from idverify.domain.face import Embedding
from idverify.domain.ports import FieldProtector
from idverify.domain.repositories import EnrolledTemplate, StoredChallenge
from idverify.storage.tables_faces import face_templates, liveness_challenges, session_faces

C, SF, T = liveness_challenges, session_faces, face_templates


class SqlFaceRepository:
    def __init__(self, conn: Connection, protector: FieldProtector) -> None:
        self._conn = conn
        self._protector = protector

    def add_challenge(self, challenge: StoredChallenge) -> None:
        self._conn.execute(C.insert().values(
            challenge_id=challenge.challenge_id, session_id=challenge.session_id, nonce=challenge.nonce,
            poses=json.dumps(list(challenge.poses)), issued_at=challenge.issued_at, deadline=challenge.deadline,
            status="open"))

    def take_challenge(self, challenge_id: str, session_id: str) -> StoredChallenge:
        """Mark the challenge submitted and return it; a second submission finds it used."""
        row = self._conn.execute(
            C.update().where(C.c.challenge_id == challenge_id, C.c.session_id == session_id, C.c.status == "open")
            .values(status="submitted").returning(*C.c)
        ).mappings().first()
        if row is None:
            exists = self._conn.execute(
                select(C.c.status).where(C.c.challenge_id == challenge_id, C.c.session_id == session_id)
            ).first()
            if exists is None:
                raise NotFound("liveness_challenge_not_found", "no such challenge for this verification")
            raise FailedPrecondition("liveness_challenge_used", "this challenge was already answered; start another")
        return StoredChallenge(challenge_id=row["challenge_id"], session_id=row["session_id"], nonce=row["nonce"],
                               poses=tuple(json.loads(row["poses"])), issued_at=row["issued_at"],
                               deadline=row["deadline"])

    def _seal(self, embedding: Embedding, column: str, row_id: str) -> bytes:
        return self._protector.seal(embedding.to_bytes().hex(), f"faces.{column}.{row_id}")

    def _open(self, sealed: bytes, model_id: str, column: str, row_id: str) -> Embedding:
        return Embedding.from_bytes(bytes.fromhex(self._protector.unseal(sealed, f"faces.{column}.{row_id}")),
                                    model_id)

    def _upsert_session(self, session_id: str, expires_at: datetime, **values: object) -> None:
        updated = self._conn.execute(SF.update().where(SF.c.session_id == session_id).values(**values))
        if updated.rowcount == 0:
            self._conn.execute(SF.insert().values(session_id=session_id, expires_at=expires_at, **values))

    def put_selfie(self, session_id: str, embedding: Embedding, expires_at: datetime) -> None:
        self._upsert_session(session_id, expires_at, selfie_sealed=self._seal(embedding, "selfie", session_id),
                             selfie_model_id=embedding.model_id)

    def put_portrait(self, session_id: str, embedding: Embedding, expires_at: datetime) -> None:
        self._upsert_session(session_id, expires_at,
                             portrait_sealed=self._seal(embedding, "portrait", session_id),
                             portrait_model_id=embedding.model_id)

    def session_templates(self, session_id: str) -> tuple[Embedding | None, Embedding | None]:
        """(selfie, document portrait) of a session, each None when not captured."""
        row = self._conn.execute(select(SF).where(SF.c.session_id == session_id)).mappings().first()
        if row is None:
            return None, None
        selfie = (self._open(row["selfie_sealed"], row["selfie_model_id"], "selfie", session_id)
                  if row["selfie_sealed"] else None)
        portrait = (self._open(row["portrait_sealed"], row["portrait_model_id"], "portrait", session_id)
                    if row["portrait_sealed"] else None)
        return selfie, portrait

    def enrolled(self, applicant_id: str) -> EnrolledTemplate | None:
        row = self._conn.execute(select(T).where(T.c.applicant_id == applicant_id)).mappings().first()
        if row is None:
            return None
        return EnrolledTemplate(
            template_id=row["template_id"], applicant_id=applicant_id,
            embedding=self._open(row["template_sealed"], row["model_id"], "template", applicant_id),
            enrolled_at=row["enrolled_at"], session_id=row["session_id"],
            consent_text_version=row["consent_text_version"])

    def enrol(self, template: EnrolledTemplate) -> None:
        values = {
            "template_id": template.template_id,
            "template_sealed": self._seal(template.embedding, "template", template.applicant_id),
            "model_id": template.embedding.model_id,
            "enrolled_at": template.enrolled_at,
            "session_id": template.session_id,
            "consent_text_version": template.consent_text_version,
        }
        updated = self._conn.execute(T.update().where(T.c.applicant_id == template.applicant_id).values(**values))
        if updated.rowcount == 0:
            self._conn.execute(T.insert().values(applicant_id=template.applicant_id, **values))
