"""Disputes ("I never applied"), identity freezes and maker-checker approvals."""

from idverify.cases.approval_service import ApplicantKeysLookup, ApprovalService
from idverify.cases.approvals import ApplicantKeys, ApprovalAction, ApprovalRequest, ApprovalRules, StaffMember
from idverify.cases.freeze import Freeze, VerificationProof
from idverify.cases.freeze_service import FreezeService, VerificationProofs
from idverify.cases.model import CaseState, DisputeCase
from idverify.cases.repository import RiskObservationApplicantKeys, SqlFreezeRepository
from idverify.cases.service import CaseService, ReportedVerification, ReportedVerifications

__all__ = [
    "ApplicantKeys",
    "ApplicantKeysLookup",
    "ApprovalAction",
    "ApprovalRequest",
    "ApprovalRules",
    "ApprovalService",
    "CaseService",
    "CaseState",
    "DisputeCase",
    "Freeze",
    "FreezeService",
    "ReportedVerification",
    "ReportedVerifications",
    "RiskObservationApplicantKeys",
    "SqlFreezeRepository",
    "StaffMember",
    "VerificationProof",
    "VerificationProofs",
]
