"""Services whose behaviour is not built yet answer UNIMPLEMENTED with a reason code; nothing pretends to work."""

from __future__ import annotations

from typing import Any

import grpc

from idverify.api.v1 import audit_pb2_grpc, case_pb2_grpc
from idverify.domain.errors import Unimplemented


def _unimplemented(feature: str) -> Unimplemented:
    return Unimplemented("feature_not_available", f"{feature} is not available on this deployment yet")


class CaseServicer(case_pb2_grpc.CaseServiceServicer):
    def ReportUnauthorizedApplication(self, request: Any, context: grpc.ServicerContext) -> Any:
        raise _unimplemented("dispute handling")

    def GetCase(self, request: Any, context: grpc.ServicerContext) -> Any:
        raise _unimplemented("dispute handling")

    def ResolveCase(self, request: Any, context: grpc.ServicerContext) -> Any:
        raise _unimplemented("dispute handling")

    def FreezeIdentity(self, request: Any, context: grpc.ServicerContext) -> Any:
        raise _unimplemented("identity freezes")

    def UnfreezeIdentity(self, request: Any, context: grpc.ServicerContext) -> Any:
        raise _unimplemented("identity freezes")


class AuditServicer(audit_pb2_grpc.AuditServiceServicer):
    def ListAuditEvents(self, request: Any, context: grpc.ServicerContext) -> Any:
        raise _unimplemented("the audit trail")

    def VerifyAuditChain(self, request: Any, context: grpc.ServicerContext) -> Any:
        raise _unimplemented("the audit trail")
