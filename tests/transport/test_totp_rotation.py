"""An authenticator enrolled before a data-key rotation still checks after it: its secret is sealed by the field
cipher under a key id, and the rotated key ring still holds the old key for reading."""

from __future__ import annotations

import base64
import tomllib
from pathlib import Path

import pyotp

from idverify.api.v1 import common_pb2, verification_pb2, verification_pb2_grpc
from idverify.storage.tables_otp import totp_credentials
from tests.transport.conftest import running_app
from tests.transport.test_server import context, start_request
from tests.transport.test_verification_flow import latest_code

V = verification_pb2


POLICY = """
base = ["sms_otp"]
new_device = []
phone_recently_changed = []
enrolled_face = false
[[amount_bands]]
minimum = 5000
currency = "CNY"
factors = ["totp"]
"""


def test_an_authenticator_enrolled_before_a_key_rotation_still_checks_after_it(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    with running_app(tmp_path, IDVERIFY_FACE="off", IDVERIFY_POLICY_FILE=str(policy)) as running:
        stub = verification_pb2_grpc.VerificationServiceStub(running.channel)
        sid = stub.StartVerification(start_request(), metadata=running.md()).verification.session_id
        stub.SendOtp(V.SendOtpRequest(context=context(), session_id=sid), metadata=running.md())
        stub.CheckOtp(V.CheckOtpRequest(context=context(), session_id=sid, code=latest_code(running),
                                        channel=V.OTP_CHANNEL_SMS), metadata=running.md())
        stub.CompleteVerification(V.CompleteVerificationRequest(context=context(), session_id=sid),
                                  metadata=running.md())
        uri = stub.EnrollTotp(V.EnrollTotpRequest(context=context(), session_id=sid),
                              metadata=running.md()).provisioning_uri
        with running.app.engine.connect() as conn:
            sealed = bytes(conn.execute(totp_credentials.select()).one().sealed_secret)
    assert sealed[2 : 2 + sealed[1]] == b"dev1"  # the field cipher's layout: version, kid length, kid
    old_key = tomllib.loads((tmp_path / "dev-secrets.toml").read_text())["data_key"]
    rotated = f"k2:{base64.b64encode(b'n' * 32).decode()},dev1:{old_key}"
    with running_app(tmp_path, IDVERIFY_FACE="off", IDVERIFY_DATA_KEYS=rotated,
                     IDVERIFY_POLICY_FILE=str(policy)) as running:
        stub = verification_pb2_grpc.VerificationServiceStub(running.channel)
        big = {"loan": "L-2", "amount": "6000.00"}
        sid = stub.StartVerification(start_request(**big), metadata=running.md()).verification.session_id
        checked = stub.CheckOtp(V.CheckOtpRequest(context=context(**big), session_id=sid,
                                                  code=pyotp.parse_uri(uri).now(), channel=V.OTP_CHANNEL_TOTP),
                                metadata=running.md())
        assert checked.result.outcome == common_pb2.FACTOR_OUTCOME_PASSED
