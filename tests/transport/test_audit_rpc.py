"""VerifyAuditChain over gRPC says where the trail breaks: the entry, its chain position and a sentence."""

from __future__ import annotations

from sqlalchemy import text

from idverify.api.v1 import audit_pb2, audit_pb2_grpc, verification_pb2_grpc
from tests.transport.conftest import Running
from tests.transport.test_server import start_request


def test_verify_names_the_edited_entry_and_its_chain_position(running: Running) -> None:
    verification_pb2_grpc.VerificationServiceStub(running.channel).StartVerification(
        start_request(), metadata=running.md())
    audit = audit_pb2_grpc.AuditServiceStub(running.channel)
    assert running.app.audit_sealer is not None
    running.app.audit_sealer.drain()
    intact = audit.VerifyAuditChain(audit_pb2.VerifyAuditChainRequest(), metadata=running.md("admin"))
    assert intact.ok and intact.entries_checked >= 1 and intact.problem == ""
    with running.app.engine.begin() as conn:
        seq = conn.execute(text("SELECT min(seq) FROM audit_entries")).scalar_one()
        conn.execute(text("UPDATE audit_entries SET outcome = 'refused' WHERE seq = :seq"), {"seq": seq})
    broken = audit.VerifyAuditChain(audit_pb2.VerifyAuditChainRequest(), metadata=running.md("admin"))
    assert (broken.ok, broken.problem, broken.first_bad_seq) == (False, "edited", seq)
    assert broken.position >= 1 and f"entry {seq}" in broken.detail
