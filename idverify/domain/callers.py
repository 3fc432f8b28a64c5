"""Who is calling: an authenticated service or staff tool with roles."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    #: The lender's mobile-app backend: runs verifications for applicants.
    APP_BACKEND = "app_backend"
    #: The lender's loan service: redeems and inspects tokens before disbursing.
    LOAN_SERVICE = "loan_service"
    #: Customer-support staff tool: opens disputes, freezes identities, reads cases with a stated purpose.
    SUPPORT = "support"
    #: Risk analysts: read cases and the audit trail with a stated purpose.
    RISK_ANALYST = "risk_analyst"
    #: Administrators: revocation, case resolution, audit verification, operator tools.
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Caller:
    caller_id: str
    roles: frozenset[Role]
    #: "api_key" or "mtls".
    method: str

    def has_any(self, allowed: frozenset[Role]) -> bool:
        return bool(self.roles & allowed)
