"""Audit checkpoints leave the database: the sealer queues each stored checkpoint in the outbox, and a receiver
the lender runs gets it as a Standard Webhooks ``audit.checkpoint`` whose Ed25519 signature verifies with the
service's published keys."""

from __future__ import annotations

import json
from pathlib import Path

from joserfc.jwk import OKPKey
from standardwebhooks import Webhook

from idverify.api.v1 import token_pb2, token_pb2_grpc, verification_pb2_grpc
from idverify.audit import Checkpoint
from tests.transport.conftest import running_app
from tests.transport.test_outbox_delivery import SECRET, Receiver, receiver  # noqa: F401 - the fixture
from tests.transport.test_server import start_request


def test_a_stored_checkpoint_reaches_the_audit_receiver_signed(tmp_path: Path, receiver: Receiver) -> None:  # noqa: F811
    url = receiver.url.replace("/risk", "/audit")
    with running_app(tmp_path, IDVERIFY_FACE="off", IDVERIFY_AUDIT_WEBHOOK_URL=url, IDVERIFY_WEBHOOK_SECRET=SECRET,
                     IDVERIFY_AUDIT_SEAL_INTERVAL_S="0.1", IDVERIFY_OUTBOX_POLL_S="0.1") as running:
        verification_pb2_grpc.VerificationServiceStub(running.channel).StartVerification(
            start_request(), metadata=running.md())
        receiver.wait_for(lambda: bool(receiver.arrivals))
        jwks = json.loads(token_pb2_grpc.TokenServiceStub(running.channel).GetJwks(
            token_pb2.GetJwksRequest(), metadata=running.md("loan_service")).jwks_json)
    _, headers, body = receiver.arrivals[0]
    payload = Webhook(SECRET).verify(body, headers)
    assert payload["type"] == "audit.checkpoint"
    checkpoint = Checkpoint.from_json(payload["data"])
    assert checkpoint.position >= 1
    key = next(k for k in jwks["keys"] if k["kid"] == checkpoint.kid)
    OKPKey.import_key(key).public_key.verify(checkpoint.signature, checkpoint.message())  # raises if forged
