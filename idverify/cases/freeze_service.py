"""Identity freeze use cases: freeze, and unfreeze by the consumer or by staff with maker-checker."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Protocol

from sqlalchemy import Connection

from idverify.audit import Actor, AuditLog
from idverify.cases.approval_service import ApprovalService
from idverify.cases.approvals import ApprovalAction, StaffMember
from idverify.cases.freeze import Freeze, FreezeOrigin, VerificationProof, check_consumer_unfreeze
from idverify.cases.recording import new_id, record, staff_actor
from idverify.cases.repository import SqlFreezeRepository
from idverify.domain.errors import FailedPrecondition
from idverify.domain.ports import Clock, Random


class VerificationProofs(Protocol):
    """Wired by the integrator to the session store: the state of a verification the consumer presents."""

    def proof(self, conn: Connection, verification_id: str) -> VerificationProof | None: ...


class FreezeService:
    """Freezes and unfreezes, in the caller's transaction. ``repo`` is also the risk engine's ``FreezeLookup``."""

    def __init__(
        self,
        *,
        audit: AuditLog,
        clock: Clock,
        random: Random,
        proofs: VerificationProofs,
        approvals: ApprovalService,
        verification_max_age: timedelta = timedelta(minutes=15),
    ) -> None:
        self._audit, self._clock, self._random = audit, clock, random
        self._proofs, self._approvals, self._max_age = proofs, approvals, verification_max_age
        self.repo = SqlFreezeRepository()

    def freeze(
        self,
        conn: Connection,
        *,
        applicant_id: str,
        origin: FreezeOrigin,
        actor: Actor,
        reason: str,
        identity_key: str | None = None,
        case_id: str | None = None,
    ) -> Freeze:
        """Freeze the applicant (idempotent: an active freeze is returned unchanged)."""
        existing = self.repo.active(conn, applicant_id)
        if existing is not None:
            return existing
        freeze = Freeze(
            freeze_id=new_id(self._random, "frz"),
            applicant_id=applicant_id,
            origin=origin,
            reason=reason,
            frozen_at=self._clock.now(),
            frozen_by=actor.caller_id,
            identity_key=identity_key,
            case_id=case_id,
        )
        self.repo.add(conn, freeze)
        record(self._audit, conn, actor, "identity.freeze", ("applicant", applicant_id), origin=origin, case_id=case_id)
        return freeze

    def status(self, conn: Connection, applicant_id: str) -> Freeze | None:
        return self.repo.active(conn, applicant_id)

    def unfreeze_by_consumer(self, conn: Connection, *, applicant_id: str, verification_id: str) -> Freeze:
        """Lift with a fresh, completed, high-assurance verification of this applicant, usable once.
        Raises ``FailedPrecondition`` (``identity_not_frozen``, ``unfreeze_verification_*``)."""
        freeze = self._active(conn, applicant_id)
        proof = self._proofs.proof(conn, verification_id)
        check_consumer_unfreeze(freeze, proof, applicant_id=applicant_id, now=self._clock.now(), max_age=self._max_age)
        basis = f"verification:{verification_id}"
        if self.repo.basis_used(conn, basis):
            raise FailedPrecondition("unfreeze_verification_used", "that verification was already used to unfreeze")
        return self._lift(conn, freeze, Actor(applicant_id, "applicant"), basis)

    def unfreeze_by_staff(self, conn: Connection, *, applicant_id: str, staff: StaffMember, approval_id: str) -> Freeze:
        """Lift with an approval for ``unfreeze_identity`` on this applicant, requested by ``staff`` and approved
        by another unlinked staff member."""
        freeze = self._active(conn, applicant_id)
        self._approvals.use(
            conn,
            approval_id,
            action=ApprovalAction.UNFREEZE_IDENTITY,
            object_id=applicant_id,
            staff=staff,
            applicant_id=applicant_id,
        )
        return self._lift(conn, freeze, staff_actor(staff), f"approval:{approval_id}")

    def _active(self, conn: Connection, applicant_id: str) -> Freeze:
        freeze = self.repo.active(conn, applicant_id)
        if freeze is None:
            raise FailedPrecondition("identity_not_frozen", "the identity is not frozen")
        return freeze

    def _lift(self, conn: Connection, freeze: Freeze, actor: Actor, basis: str) -> Freeze:
        lifted = replace(freeze, lifted_at=self._clock.now(), lifted_by=actor.caller_id, lift_basis=basis)
        self.repo.lift(conn, lifted)
        kind = basis.split(":", maxsplit=1)[0]
        record(self._audit, conn, actor, "identity.unfreeze", ("applicant", freeze.applicant_id), basis=kind)
        return lifted
