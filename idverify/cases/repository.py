"""SQL repositories for cases, freezes, approvals and staff links. Each call runs in the caller's transaction;
updates are conditional on the state read, so a concurrent change makes the loser fail with ``Aborted``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from idverify.cases.approvals import (
    ApplicantKeys,
    ApprovalAction,
    ApprovalRequest,
    ApprovalStatus,
    StaffLinks,
)
from idverify.cases.freeze import Freeze
from idverify.cases.model import CaseState, DisputeCase
from idverify.domain.errors import Aborted, NotFound
from idverify.privacy.blind_index import BlindIndex
from idverify.storage.tables_cases import (
    approval_requests,
    dispute_cases,
    identity_freezes,
    staff_identifiers,
    staff_relations,
)
from idverify.storage.tables_risk import risk_observations

_CASE_FIELDS = [c.name for c in dispute_cases.c if c.name != "description_enc"]


class SqlCaseRepository:
    def add(self, conn: Connection, case: DisputeCase, description_enc: bytes | None = None) -> None:
        conn.execute(insert(dispute_cases).values(**_case_values(case), description_enc=description_enc))

    def get(self, conn: Connection, case_id: str, *, for_update: bool = False) -> DisputeCase:
        query = select(*(dispute_cases.c[f] for f in _CASE_FIELDS)).where(dispute_cases.c.case_id == case_id)
        row = conn.execute(query.with_for_update() if for_update else query).first()
        if row is None:
            raise NotFound("case_not_found", "no such case")
        values = row._asdict()
        return DisputeCase(**{**values, "state": CaseState(values["state"])})

    def save(self, conn: Connection, case: DisputeCase) -> None:
        """Write a transitioned case; refuses if someone else changed it since it was read."""
        result = conn.execute(
            update(dispute_cases)
            .where(dispute_cases.c.case_id == case.case_id, dispute_cases.c.version == case.version - 1)
            .values(**_case_values(case))
        )
        if result.rowcount != 1:
            raise Aborted("case_changed", "the case changed concurrently; reload and retry")

    def overdue(self, conn: Connection, now: datetime) -> list[str]:
        open_states = [CaseState.OPENED.value, CaseState.INVESTIGATING.value]
        query = select(dispute_cases.c.case_id).where(
            dispute_cases.c.state.in_(open_states), dispute_cases.c.respond_by < now
        )
        return list(conn.execute(query.order_by(dispute_cases.c.respond_by)).scalars())


def _case_values(case: DisputeCase) -> dict[str, Any]:
    values = {f: getattr(case, f) for f in _CASE_FIELDS}
    values["state"] = case.state.value
    return values


class SqlFreezeRepository:
    """Freezes; also the risk engine's ``FreezeLookup``."""

    def active(self, conn: Connection, applicant_id: str) -> Freeze | None:
        row = conn.execute(
            select(identity_freezes)
            .where(identity_freezes.c.applicant_id == applicant_id, identity_freezes.c.lifted_at.is_(None))
            .with_for_update()
        ).first()
        return _freeze(row) if row else None

    def is_frozen(self, conn: Connection, *, applicant_id: str, identity_key: str | None) -> bool:
        match = identity_freezes.c.applicant_id == applicant_id
        if identity_key:
            match = or_(match, identity_freezes.c.identity_key == identity_key)
        query = select(identity_freezes.c.freeze_id).where(match, identity_freezes.c.lifted_at.is_(None)).limit(1)
        return conn.execute(query).first() is not None

    def add(self, conn: Connection, freeze: Freeze) -> None:
        """Insert an active freeze. Raises ``Aborted("freeze_exists")`` if another became active meanwhile."""
        try:
            with conn.begin_nested():
                conn.execute(insert(identity_freezes).values(**_freeze_values(freeze)))
        except IntegrityError as exc:
            raise Aborted("freeze_exists", "the identity was frozen concurrently") from exc

    def lift(self, conn: Connection, freeze: Freeze) -> None:
        result = conn.execute(
            update(identity_freezes)
            .where(identity_freezes.c.freeze_id == freeze.freeze_id, identity_freezes.c.lifted_at.is_(None))
            .values(lifted_at=freeze.lifted_at, lifted_by=freeze.lifted_by, lift_basis=freeze.lift_basis)
        )
        if result.rowcount != 1:
            raise Aborted("freeze_changed", "the freeze changed concurrently")

    def basis_used(self, conn: Connection, basis: str) -> bool:
        query = select(identity_freezes.c.freeze_id).where(identity_freezes.c.lift_basis == basis).limit(1)
        return conn.execute(query).first() is not None


def _freeze_values(freeze: Freeze) -> dict[str, Any]:
    return {f: getattr(freeze, f) for f in Freeze.__dataclass_fields__}


def _freeze(row: Row[Any]) -> Freeze:
    return Freeze(**row._asdict())


class SqlApprovalRepository:
    def add(self, conn: Connection, request: ApprovalRequest) -> None:
        conn.execute(insert(approval_requests).values(**_approval_values(request)))

    def get(self, conn: Connection, approval_id: str) -> ApprovalRequest:
        row = conn.execute(
            select(approval_requests).where(approval_requests.c.approval_id == approval_id).with_for_update()
        ).first()
        if row is None:
            raise NotFound("approval_not_found", "no such approval")
        values = row._asdict()
        return ApprovalRequest(
            **{**values, "action": ApprovalAction(values["action"]), "status": ApprovalStatus(values["status"])}
        )

    def save(self, conn: Connection, request: ApprovalRequest, *, previous: ApprovalStatus) -> None:
        """Write a decided or used request; the status must still be ``previous`` (single use, no double decide)."""
        result = conn.execute(
            update(approval_requests)
            .where(
                approval_requests.c.approval_id == request.approval_id,
                approval_requests.c.status == previous.value,
            )
            .values(**_approval_values(request))
        )
        if result.rowcount != 1:
            raise Aborted("approval_changed", "the approval changed concurrently")


def _approval_values(request: ApprovalRequest) -> dict[str, Any]:
    values = {f: getattr(request, f) for f in ApprovalRequest.__dataclass_fields__}
    values["action"], values["status"] = request.action.value, request.status.value
    return values


class SqlStaffDirectory:
    """Declared staff-applicant relations and the staff members' own phone/device blind indexes."""

    def declare_relation(
        self, conn: Connection, *, staff_id: str, applicant_id: str, relation: str, now: datetime
    ) -> None:
        values = {"staff_id": staff_id, "applicant_id": applicant_id, "relation": relation, "declared_at": now}
        conn.execute(insert(staff_relations).values(values))

    def register_key(self, conn: Connection, *, staff_id: str, key: str, kind: str) -> None:
        conn.execute(insert(staff_identifiers).values(staff_id=staff_id, key=key, kind=kind))

    def links(self, conn: Connection, staff_id: str) -> StaffLinks:
        related = conn.execute(select(staff_relations.c.applicant_id).where(staff_relations.c.staff_id == staff_id))
        keys = conn.execute(select(staff_identifiers.c.key).where(staff_identifiers.c.staff_id == staff_id))
        return StaffLinks(related_applicants=frozenset(related.scalars()), own_keys=frozenset(keys.scalars()))


class RiskObservationApplicantKeys:
    """An applicant's phone and device blind indexes, from the risk observations the service recorded."""

    def __init__(self, index: BlindIndex) -> None:
        self._index = index

    def keys_for(self, conn: Connection, applicant_id: str) -> ApplicantKeys:
        obs = risk_observations
        rows = conn.execute(
            select(obs.c.phone_key, obs.c.device_key).where(obs.c.applicant_key == self._index.applicant(applicant_id))
        )
        keys = {k for row in rows for k in row if k}
        return ApplicantKeys(applicant_id=applicant_id, keys=frozenset(keys))
