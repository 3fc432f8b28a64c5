"""Which roles may call which RPC. A method missing here is refused (fail closed); a test checks every RPC in
the contract has an entry."""

from __future__ import annotations

from idverify.domain.callers import Role

A, L, S, R, ADM = Role.APP_BACKEND, Role.LOAN_SERVICE, Role.SUPPORT, Role.RISK_ANALYST, Role.ADMIN

_V = "/idverify.v1.VerificationService/"
_T = "/idverify.v1.TokenService/"
_C = "/idverify.v1.CaseService/"
_AU = "/idverify.v1.AuditService/"
_F = "/idverify.v1.FaceService/"
_P = "/idverify.v1.PersonService/"

ALLOWED: dict[str, frozenset[Role]] = {
    **{
        _V + name: frozenset({A})
        for name in (
            "StartVerification", "GetVerification", "CancelVerification", "SendOtp", "CheckOtp", "EnrollTotp",
            "SubmitDocument", "StartLivenessChallenge", "SubmitLivenessFrames", "EnrollFace",
            "CompleteVerification",
        )
    },
    _T + "GetJwks": frozenset({A, L, S, R, ADM}),
    _T + "RedeemToken": frozenset({L}),
    _T + "IntrospectToken": frozenset({L, S, R, ADM}),
    _T + "RevokeTokens": frozenset({S, ADM}),
    # Applicants report through the lender's app backend or through support staff.
    _C + "ReportUnauthorizedApplication": frozenset({A, S}),
    _C + "GetCase": frozenset({S, R, ADM}),
    _C + "ResolveCase": frozenset({S, ADM}),
    _C + "FreezeIdentity": frozenset({A, S, ADM}),
    _C + "UnfreezeIdentity": frozenset({A, S, ADM}),
    _C + "RequestApproval": frozenset({S, R, ADM}),
    _C + "DecideApproval": frozenset({S, R, ADM}),
    _C + "ExportEvidence": frozenset({S, ADM}),
    _C + "EraseApplicantData": frozenset({ADM}),
    _C + "DeclareStaffLinks": frozenset({ADM}),
    # The staff console (issue 17): lists for staff, and each staff member's own sign-in.
    _C + "ListCases": frozenset({S, R, ADM}),
    _C + "ListApprovals": frozenset({S, R, ADM}),
    _C + "EnrollStaffTotp": frozenset({S, R, ADM}),
    _C + "StartStaffSession": frozenset({S, R, ADM}),
    _C + "EndStaffSession": frozenset({S, R, ADM}),
    _AU + "SearchAuditEvents": frozenset({R, ADM}),
    _AU + "ListAuditEvents": frozenset({R, ADM}),
    _AU + "VerifyAuditChain": frozenset({R, ADM}),
    _F + "CompareFaces": frozenset({R, ADM}),
    # The person's own side: the lender's app backend, on behalf of its signed-in customer.
    **{
        _P + name: frozenset({A})
        for name in ("ListMyVerifications", "GetMyVerification", "ReportNotMe", "RegisterDeviceKey",
                     "ListDeviceKeys", "RevokeDeviceKey", "StartDeviceProof", "SubmitDeviceProof")
    },
}

#: What a staff member may call with their API key or certificate alone when staff sessions are required
#: (IDVERIFY_STAFF_SESSIONS_REQUIRED): enrol their authenticator, open or close a session, fetch public keys. Every
#: other RPC they reach only through a staff role needs the session (``staff_session_required``).
STAFF_SIGN_IN = frozenset({_C + "EnrollStaffTotp", _C + "StartStaffSession", _C + "EndStaffSession", _T + "GetJwks"})

#: Infrastructure services that need no caller identity (load balancers and operators probe them).
PUBLIC_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")
