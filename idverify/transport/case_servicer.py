"""CaseService and AuditService: thin conversion onto the dispute desk."""

from __future__ import annotations

import json

import grpc

from idverify.api.v1 import audit_pb2, audit_pb2_grpc, case_pb2, case_pb2_grpc
from idverify.audit import Actor
from idverify.cases.approvals import ApprovalRequest, StaffMember
from idverify.cases.desk import CaseDesk
from idverify.cases.freeze import Freeze
from idverify.cases.model import DisputeCase
from idverify.domain.callers import Caller, Role
from idverify.domain.errors import InvalidArgument
from idverify.domain.values import clean_identifier
from idverify.privacy.blind_index import BlindIndex
from idverify.staff.reads import StaffReads
from idverify.staff.sessions import StaffSessions
from idverify.transport import convert
from idverify.transport.edge import PhoneRules
from idverify.transport.interceptors import current_caller
from idverify.transport.staff_servicer import StaffAuditMethods, StaffCaseMethods, approval_message, case_message

#: The role a staff caller acts in, strongest first (approval rules and the audit trail name it).
_STAFF_ORDER = (Role.ADMIN, Role.RISK_ANALYST, Role.SUPPORT)


def actor_of(caller: Caller) -> Actor:
    role = next((r for r in _STAFF_ORDER if r in caller.roles), None) or sorted(caller.roles)[0]
    return Actor(caller_id=caller.caller_id, role=role.value)


def staff_of(caller: Caller) -> StaffMember:
    actor = actor_of(caller)
    return StaffMember(staff_id=actor.caller_id, role=actor.role)


def _purpose(value: str) -> str:
    if not value.strip():
        raise InvalidArgument("purpose_missing", "staff reads of personal data need a stated purpose")
    return clean_identifier(value[:256], "purpose", max_length=256)


def _case(case: DisputeCase, revoked: int = 0) -> case_pb2.Case:
    return case_message(case, revoked)


def _freeze(freeze: Freeze | None, applicant_id: str) -> case_pb2.IdentityFreeze:
    if freeze is None:
        return case_pb2.IdentityFreeze(applicant_id=applicant_id, frozen=False)
    return case_pb2.IdentityFreeze(applicant_id=freeze.applicant_id, frozen=freeze.active,
                                   since=convert.timestamp(freeze.frozen_at), reason=freeze.reason)


def _approval(request: ApprovalRequest) -> case_pb2.Approval:
    return approval_message(request)


class CaseServicer(StaffCaseMethods, case_pb2_grpc.CaseServiceServicer):
    def __init__(self, desk: CaseDesk, index: BlindIndex, *, reads: StaffReads | None = None,
                 sessions: StaffSessions | None = None, phones: PhoneRules | None = None) -> None:
        self._desk = desk
        self._index = index
        self._phones = phones or PhoneRules()
        self._reads, self._sessions = reads, sessions

    def ReportUnauthorizedApplication(self, request: case_pb2.ReportUnauthorizedApplicationRequest,
                                      context: grpc.ServicerContext
                                      ) -> case_pb2.ReportUnauthorizedApplicationResponse:
        caller = current_caller()
        applicant = clean_identifier(request.applicant_id, "applicant_id")
        subject = request.WhichOneof("subject")
        if subject is None:
            raise InvalidArgument("case_subject_required", "quote the SMS reference or the loan application id")
        report = self._desk.report(
            actor=actor_of(caller), applicant_id=applicant,
            channel="app" if Role.APP_BACKEND in caller.roles else "support",
            reference=request.reference if subject == "reference" else None,
            loan_application_id=clean_identifier(request.loan_application_id, "loan_application_id")
            if subject == "loan_application_id" else None,
            description=request.description[:2000])
        return case_pb2.ReportUnauthorizedApplicationResponse(case=_case(report.case, report.revoked_tokens))

    def GetCase(self, request: case_pb2.GetCaseRequest, context: grpc.ServicerContext) -> case_pb2.GetCaseResponse:
        case = self._desk.get_case(staff=staff_of(current_caller()), case_id=clean_identifier(
            request.case_id, "case_id"), purpose=_purpose(request.purpose))
        return case_pb2.GetCaseResponse(case=_case(case))

    def ResolveCase(self, request: case_pb2.ResolveCaseRequest, context: grpc.ServicerContext
                    ) -> case_pb2.ResolveCaseResponse:
        case = self._desk.resolve(staff=staff_of(current_caller()), case_id=clean_identifier(request.case_id,
                                                                                               "case_id"),
                                  fraud_confirmed=request.fraud_confirmed, outcome=request.outcome[:64],
                                  approval_id=request.approval_id or None)
        return case_pb2.ResolveCaseResponse(case=_case(case))

    def FreezeIdentity(self, request: case_pb2.FreezeIdentityRequest, context: grpc.ServicerContext
                       ) -> case_pb2.FreezeIdentityResponse:
        caller = current_caller()
        applicant = clean_identifier(request.applicant_id, "applicant_id")
        freeze = self._desk.freeze(actor=actor_of(caller), applicant_id=applicant,
                                   reason=request.reason[:256] or "requested",
                                   by_consumer=Role.APP_BACKEND in caller.roles)
        return case_pb2.FreezeIdentityResponse(freeze=_freeze(freeze, applicant))

    def UnfreezeIdentity(self, request: case_pb2.UnfreezeIdentityRequest, context: grpc.ServicerContext
                         ) -> case_pb2.UnfreezeIdentityResponse:
        caller = current_caller()
        applicant = clean_identifier(request.applicant_id, "applicant_id")
        if request.session_id:
            if Role.APP_BACKEND not in caller.roles:
                raise InvalidArgument("unfreeze_basis_invalid", "staff unfreeze needs an approval id")
            freeze = self._desk.unfreeze_by_consumer(applicant_id=applicant,
                                                     session_id=convert.session_id(request.session_id))
        elif request.approval_id:
            freeze = self._desk.unfreeze_by_staff(staff=staff_of(caller), applicant_id=applicant,
                                                  approval_id=clean_identifier(request.approval_id, "approval_id"))
        else:
            raise InvalidArgument("unfreeze_basis_missing", "give a fresh verification or a second staff approval")
        return case_pb2.UnfreezeIdentityResponse(freeze=_freeze(freeze, applicant))

    def RequestApproval(self, request: case_pb2.RequestApprovalRequest, context: grpc.ServicerContext
                        ) -> case_pb2.RequestApprovalResponse:
        made = self._desk.request_approval(
            staff=staff_of(current_caller()), action=request.action,
            object_id=clean_identifier(request.object_id, "object_id"),
            applicant_id=clean_identifier(request.applicant_id, "applicant_id"), reason=_purpose(request.reason))
        return case_pb2.RequestApprovalResponse(approval=_approval(made))

    def DecideApproval(self, request: case_pb2.DecideApprovalRequest, context: grpc.ServicerContext
                       ) -> case_pb2.DecideApprovalResponse:
        decided = self._desk.decide_approval(staff=staff_of(current_caller()), approval_id=clean_identifier(
            request.approval_id, "approval_id"), approve=request.approve)
        return case_pb2.DecideApprovalResponse(approval=_approval(decided))

    def EraseApplicantData(self, request: case_pb2.EraseApplicantDataRequest, context: grpc.ServicerContext
                           ) -> case_pb2.EraseApplicantDataResponse:
        applicant = clean_identifier(request.applicant_id, "applicant_id")
        deleted = self._desk.erase_applicant(actor=actor_of(current_caller()), applicant_id=applicant,
                                             purpose=_purpose(request.purpose),
                                             blind_indexes=(self._index.applicant(applicant),))
        return case_pb2.EraseApplicantDataResponse(deleted=deleted)

    def DeclareStaffLinks(self, request: case_pb2.DeclareStaffLinksRequest, context: grpc.ServicerContext
                          ) -> case_pb2.DeclareStaffLinksResponse:
        if len(request.related_applicant_ids) + len(request.phones_e164) + len(request.device_ids) > 100:
            raise InvalidArgument("staff_links_too_many", "declare at most 100 links at once")
        keys = [("phone", self._index.phone(self._phones.parse(p, "phones_e164"))) for p in request.phones_e164]
        keys += [("device", self._index.device(clean_identifier(d, "device_id"))) for d in request.device_ids]
        recorded = self._desk.declare_staff_links(
            actor=actor_of(current_caller()), staff_id=clean_identifier(request.staff_id, "staff_id"),
            related_applicants=[clean_identifier(a, "applicant_id") for a in request.related_applicant_ids],
            relation=clean_identifier(request.relation or "declared", "relation", max_length=32), own_keys=keys)
        return case_pb2.DeclareStaffLinksResponse(recorded=recorded)

    def ExportEvidence(self, request: case_pb2.ExportEvidenceRequest, context: grpc.ServicerContext
                       ) -> case_pb2.ExportEvidenceResponse:
        signed, bundle = self._desk.evidence(staff=staff_of(current_caller()),
                                             case_id=clean_identifier(request.case_id, "case_id"),
                                             purpose=_purpose(request.purpose))
        return case_pb2.ExportEvidenceResponse(signed_bundle=signed,
                                               bundle_json=json.dumps(bundle, ensure_ascii=False, sort_keys=True))


class AuditServicer(StaffAuditMethods, audit_pb2_grpc.AuditServiceServicer):
    def __init__(self, desk: CaseDesk, *, reads: StaffReads | None = None) -> None:
        self._desk = desk
        self._reads = reads

    def ListAuditEvents(self, request: audit_pb2.ListAuditEventsRequest, context: grpc.ServicerContext
                        ) -> audit_pb2.ListAuditEventsResponse:
        purpose = _purpose(request.purpose)
        object_id = clean_identifier(request.object_id, "object_id") if request.object_id else ""
        rows = self._desk.list_events(actor=actor_of(current_caller()), object_id=object_id,
                                      after_seq=request.after_seq, size=min(max(request.page_size or 100, 1), 1000),
                                      purpose=purpose)
        return audit_pb2.ListAuditEventsResponse(events=[audit_pb2.AuditEvent(
            seq=r["seq"], at=convert.timestamp(r["at"]), actor=r["actor_id"], action=r["action"],
            object_type=r["object_type"], object_id=r["object_id"], outcome=r["outcome"],
            reason_code=r["reason_code"], purpose=r["purpose"], entry_hash=r["entry_hash"]) for r in rows])

    def VerifyAuditChain(self, request: audit_pb2.VerifyAuditChainRequest, context: grpc.ServicerContext
                         ) -> audit_pb2.VerifyAuditChainResponse:
        report = self._desk.verify_chain()
        return audit_pb2.VerifyAuditChainResponse(ok=report.ok, entries_checked=report.entries_checked,
                                                  first_bad_seq=report.first_bad_seq or 0,
                                                  problem=report.problem or "", position=report.position or 0,
                                                  detail=report.detail, unsealed=report.unsealed)
