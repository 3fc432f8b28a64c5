"""The person's own side over gRPC, on SQLite and PostgreSQL: a history that shows exactly the person's own
entries, one-call "this was not me", device keys (registration, proof of possession, refusal of another key, another
nonce or a replay, revocation, an unregistered device stepped up and announced) and the SIM-swap claim."""

from __future__ import annotations

import base64
import json
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from joserfc.jwk import ECKey, OKPKey

from idverify.api.v1 import common_pb2, person_pb2, person_pb2_grpc, token_pb2, token_pb2_grpc, verification_pb2
from idverify.api.v1 import verification_pb2_grpc as vgrpc
from idverify.app import build
from idverify.client.jwks import StaticJwks
from idverify.client.verifier import ExpectedBinding, TokenVerifier
from idverify.config import Settings
from idverify.domain.ports import SimSwapReport
from tests.transport.conftest import Running
from tests.transport.test_server import reason_of
from tests.transport.test_verification_flow import latest_code, outbox

V, P = verification_pb2, person_pb2
PHONE = "+8613800138000"


class FakeSimSwap:
    """A carrier lookup adapter for tests: numbers in ``swapped`` had their SIM swapped ``days_ago`` days ago."""

    def __init__(self, swapped: set[str], days_ago: int = 1) -> None:
        self.swapped = swapped
        self.days_ago = days_ago
        self.asked: list[str] = []

    def lookup(self, phone_e164: str) -> SimSwapReport:
        self.asked.append(phone_e164)
        at = datetime.now(UTC) - timedelta(days=self.days_ago) if phone_e164 in self.swapped else None
        return SimSwapReport(at, "carrier:fake")


@contextmanager
def person_app(data_dir: Path, db_url: str, sim_swap: FakeSimSwap | None = None) -> Iterator[Running]:
    env = {"IDVERIFY_DATA_DIR": str(data_dir), "IDVERIFY_GRPC_ADDRESS": "127.0.0.1:0",
           "IDVERIFY_ADMIN_ADDRESS": "127.0.0.1:0", "IDVERIFY_LOG_LEVEL": "WARNING", "IDVERIFY_DOCUMENTS": "off",
           "IDVERIFY_FACE": "off", "IDVERIFY_DATABASE_URL": db_url,
           # SMS-only verifications here: registration at "low" is a development setting (production refuses it).
           "IDVERIFY_DEVICE_REGISTRATION_ACR": "low"}
    app = build(Settings.from_env(env), sim_swap=sim_swap)
    app.start()
    keys = tomllib.loads((data_dir / "dev-api-keys.toml").read_text())
    channel = grpc.insecure_channel(f"127.0.0.1:{app.grpc.port}")
    try:
        yield Running(app, channel, keys, data_dir)
    finally:
        channel.close()
        app.stop(grace_s=1)


@pytest.fixture
def running(tmp_path: Path, db_url: str) -> Iterator[Running]:
    with person_app(tmp_path, db_url) as r:
        yield r


def ctx(applicant: str = "acct-1", loan: str = "L-1", device: str = "dev-1") -> common_pb2.ApplicationContext:
    return common_pb2.ApplicationContext(applicant_id=applicant, loan_application_id=loan,
                                         amount=common_pb2.Money(value="1000.00", currency="CNY"), device_id=device,
                                         client_ip="203.0.113.9", locale="en")


def start(r: Running, c: common_pb2.ApplicationContext, *, phone_changed: bool = False) -> V.Verification:
    stub = vgrpc.VerificationServiceStub(r.channel)
    return stub.StartVerification(V.StartVerificationRequest(context=c, phone_e164=PHONE, payout_account="6222-01",
                                                             phone_recently_changed=phone_changed),
                                  metadata=r.md()).verification


def pass_sms(r: Running, c: common_pb2.ApplicationContext, sid: str) -> None:
    stub = vgrpc.VerificationServiceStub(r.channel)
    stub.SendOtp(V.SendOtpRequest(context=c, session_id=sid), metadata=r.md())
    got = stub.CheckOtp(V.CheckOtpRequest(context=c, session_id=sid, code=latest_code(r), channel=V.OTP_CHANNEL_SMS),
                        metadata=r.md())
    assert got.result.outcome == common_pb2.FACTOR_OUTCOME_PASSED


def complete(r: Running, c: common_pb2.ApplicationContext, sid: str) -> V.CompleteVerificationResponse:
    return vgrpc.VerificationServiceStub(r.channel).CompleteVerification(
        V.CompleteVerificationRequest(context=c, session_id=sid), metadata=r.md())


def sms_verification(r: Running, c: common_pb2.ApplicationContext) -> tuple[str, V.CompleteVerificationResponse]:
    sid = start(r, c).session_id
    pass_sms(r, c, sid)
    return sid, complete(r, c, sid)


def person(r: Running) -> person_pb2_grpc.PersonServiceStub:
    return person_pb2_grpc.PersonServiceStub(r.channel)


def verifier(r: Running) -> TokenVerifier:
    jwks = json.loads(token_pb2_grpc.TokenServiceStub(r.channel).GetJwks(
        token_pb2.GetJwksRequest(), metadata=r.md("loan_service")).jwks_json)
    return TokenVerifier(StaticJwks(jwks), "idverify", ["loan-service"])


def p256() -> tuple[ec.EllipticCurvePrivateKey, str, str]:
    private = ec.generate_private_key(ec.SECP256R1())
    key = ECKey.import_key(private.public_key())
    return private, json.dumps(key.as_dict(private=False)), key.thumbprint()


def sign_p256(private: ec.EllipticCurvePrivateKey, text: str) -> bytes:
    """The r||s form WebCrypto produces."""
    r, s = decode_dss_signature(private.sign(text.encode(), ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def test_the_history_shows_exactly_the_persons_own_entries_newest_first_and_pages(running: Running) -> None:
    first = ctx(loan="L-1")
    sid1, done1 = sms_verification(running, first)
    sid2 = start(running, ctx(loan="L-2")).session_id
    other = ctx(applicant="acct-2", loan="L-9")
    _, done_other = sms_verification(running, other)
    page = person(running).ListMyVerifications(P.ListMyVerificationsRequest(applicant_id="acct-1", page_size=1,
                                                                            locale="en"), metadata=running.md())
    assert [v.loan_application_id for v in page.verifications] == ["L-2"] and page.next_page_token
    rest = person(running).ListMyVerifications(P.ListMyVerificationsRequest(
        applicant_id="acct-1", page_size=1, page_token=page.next_page_token), metadata=running.md())
    assert [v.loan_application_id for v in rest.verifications] == ["L-1"] and not rest.next_page_token
    entry = rest.verifications[0]
    assert entry.reference == done1.verification.reference and entry.outcome == "completed"
    assert entry.amount.value == "1000.00" and entry.token.issued and not entry.token.redeemed
    assert [f.factor for f in entry.factors] == [common_pb2.FACTOR_SMS_OTP] and entry.factors[0].message
    assert entry.device.device_hint == "…ev-1" and not entry.device.registered_device
    assert entry.lender
    serialized = page.SerializeToString() + rest.SerializeToString()
    assert PHONE.encode() not in serialized and b"6222" not in serialized and sid1.encode() not in serialized
    assert sid2  # the open one is listed too (L-2 above)

    # Another person's reference, guessed or stolen, is not found in this person's name.
    with pytest.raises(grpc.RpcError) as err:
        person(running).GetMyVerification(P.GetMyVerificationRequest(
            applicant_id="acct-1", reference=done_other.verification.reference), metadata=running.md())
    assert err.value.code() is grpc.StatusCode.NOT_FOUND and reason_of(err.value) == "verification_not_found"
    with pytest.raises(grpc.RpcError) as bad:
        person(running).ListMyVerifications(P.ListMyVerificationsRequest(applicant_id="acct-1", page_token="x!"),
                                            metadata=running.md())
    assert bad.value.code() is grpc.StatusCode.INVALID_ARGUMENT and reason_of(bad.value) == "page_token_invalid"
    # A page token made for acct-2's list still lists only acct-1's entries.
    forged = base64.urlsafe_b64encode(f"{datetime.now(UTC).isoformat()}|vs_zzzz".encode()).decode().rstrip("=")
    listed = person(running).ListMyVerifications(P.ListMyVerificationsRequest(applicant_id="acct-1",
                                                                              page_token=forged), metadata=running.md())
    assert {v.reference for v in listed.verifications} <= {done1.verification.reference} | {
        v.reference for v in page.verifications}


def test_redeemed_shows_and_this_was_not_me_opens_the_dispute(running: Running) -> None:
    c = ctx()
    _, done = sms_verification(running, c)
    token_pb2_grpc.TokenServiceStub(running.channel).RedeemToken(token_pb2.RedeemTokenRequest(
        token=done.token, loan_application_id="L-1", amount=common_pb2.Money(value="1000.00", currency="CNY"),
        payout_account="6222-01"), metadata=running.md("loan_service"))
    ref = done.verification.reference
    got = person(running).GetMyVerification(P.GetMyVerificationRequest(applicant_id="acct-1", reference=ref),
                                            metadata=running.md())
    assert got.verification.token.redeemed and got.verification.token.redeemed_at.seconds > 0
    with pytest.raises(grpc.RpcError) as err:  # not in acct-2's name: no dispute opened through it
        person(running).ReportNotMe(P.ReportNotMeRequest(applicant_id="acct-2", reference=ref), metadata=running.md())
    assert err.value.code() is grpc.StatusCode.NOT_FOUND
    report = person(running).ReportNotMe(P.ReportNotMeRequest(applicant_id="acct-1", reference=ref,
                                                               description="I never applied"), metadata=running.md())
    assert report.case_id and report.identity_frozen
    after = person(running).GetMyVerification(P.GetMyVerificationRequest(applicant_id="acct-1", reference=ref),
                                              metadata=running.md())
    assert after.verification.disputed
    with pytest.raises(grpc.RpcError) as frozen:
        start(running, ctx(loan="L-5"))
    assert reason_of(frozen.value) == "identity_frozen"


def register(r: Running, jwk: str, *, device: str = "dev-1", applicant: str = "acct-1",
             loan: str = "L-1") -> P.DeviceKey:
    sid, _ = sms_verification(r, ctx(applicant=applicant, loan=loan, device=device))
    return person(r).RegisterDeviceKey(P.RegisterDeviceKeyRequest(
        applicant_id=applicant, session_id=sid, public_key_jwk=jwk, label="my phone", device_id=device),
        metadata=r.md()).device_key


def test_a_registered_device_proves_possession_and_the_token_carries_its_thumbprint(running: Running) -> None:
    private, jwk, thumbprint = p256()
    key = register(running, jwk)
    assert key.key_id == thumbprint and key.algorithm == "ES256"
    assert any("registered" in m["body"] for m in outbox(running))  # the person's phone hears of it
    c = ctx(loan="L-2")
    v = start(running, c)
    assert common_pb2.FACTOR_DEVICE_KEY in v.required_factors
    pass_sms(running, c, v.session_id)
    proof = person(running).StartDeviceProof(P.StartDeviceProofRequest(context=c, session_id=v.session_id),
                                             metadata=running.md())
    assert proof.key_ids == [thumbprint] and proof.signing_input.endswith(proof.nonce)

    def submit(key_id: str, signature: bytes) -> common_pb2.FactorResult:
        return person(running).SubmitDeviceProof(P.SubmitDeviceProofRequest(
            context=c, session_id=v.session_id, key_id=key_id, signature=signature), metadata=running.md()).result

    stranger, _, stranger_id = p256()
    assert submit(stranger_id, sign_p256(stranger, proof.signing_input)).reason_code == "device_key_unknown"
    other_nonce = proof.signing_input.replace(proof.nonce, "dn_" + "A" * 22)
    assert submit(thumbprint, sign_p256(private, other_nonce)).reason_code == "device_signature_invalid"
    good = sign_p256(private, proof.signing_input)
    passed = submit(thumbprint, good)
    assert passed.outcome == common_pb2.FACTOR_OUTCOME_PASSED
    with pytest.raises(grpc.RpcError) as replay:
        submit(thumbprint, good)
    assert reason_of(replay.value) == "device_proof_replayed"
    done = complete(running, c, v.session_id)
    verified = verifier(running).verify(done.token, expected=ExpectedBinding("L-2", "1000.00", "CNY", "6222-01"))
    assert verified.holder_key_thumbprint == thumbprint and "hwk" in verified.amr

    # The proof of one verification does not carry over to the next: a new nonce must be signed.
    c3 = ctx(loan="L-3")
    v3 = start(running, c3)
    pass_sms(running, c3, v3.session_id)
    proof3 = person(running).StartDeviceProof(P.StartDeviceProofRequest(context=c3, session_id=v3.session_id),
                                              metadata=running.md())
    assert proof3.nonce != proof.nonce
    replayed = person(running).SubmitDeviceProof(P.SubmitDeviceProofRequest(
        context=c3, session_id=v3.session_id, key_id=thumbprint, signature=good), metadata=running.md()).result
    assert replayed.reason_code == "device_signature_invalid"

    revoked = person(running).RevokeDeviceKey(P.RevokeDeviceKeyRequest(applicant_id="acct-1", key_id=thumbprint),
                                              metadata=running.md()).device_key
    assert revoked.revoked_at.seconds > 0
    late = person(running).SubmitDeviceProof(P.SubmitDeviceProofRequest(
        context=c3, session_id=v3.session_id, key_id=thumbprint, signature=sign_p256(private, proof3.signing_input)),
        metadata=running.md()).result
    assert late.reason_code == "device_key_revoked"
    with pytest.raises(grpc.RpcError) as theirs:
        person(running).RevokeDeviceKey(P.RevokeDeviceKeyRequest(applicant_id="acct-2", key_id=thumbprint),
                                        metadata=running.md())
    assert theirs.value.code() is grpc.StatusCode.NOT_FOUND


def test_an_unregistered_device_is_stepped_up_and_the_registered_phone_is_told(running: Running) -> None:
    signer = Ed25519PrivateKey.generate()
    jwk = json.dumps(OKPKey.import_key(signer.public_key()).as_dict(private=False))
    assert register(running, jwk).algorithm == "EdDSA"
    before = len(outbox(running))
    v = start(running, ctx(loan="L-7", device="dev-new"))
    assert common_pb2.FACTOR_DEVICE_KEY not in v.required_factors  # the key is on the other phone
    assert "unregistered_device" in v.risk.reason_codes
    notices = outbox(running)[before:]
    assert any(n["to"] == PHONE and "not registered" in n["body"] for n in notices)
    listed = person(running).ListDeviceKeys(P.ListDeviceKeysRequest(applicant_id="acct-1"), metadata=running.md())
    assert len(listed.device_keys) == 1 and listed.device_keys[0].device_hint == "…ev-1"


def test_registration_needs_a_fresh_completed_verification_of_the_same_person(running: Running) -> None:
    _, jwk, _ = p256()
    open_sid = start(running, ctx(loan="L-1")).session_id
    for applicant, sid, reason in (("acct-1", open_sid, "verification_not_completed"),
                                   ("acct-2", open_sid, "verification_not_found")):
        with pytest.raises(grpc.RpcError) as err:
            person(running).RegisterDeviceKey(P.RegisterDeviceKeyRequest(
                applicant_id=applicant, session_id=sid, public_key_jwk=jwk, device_id="dev-1"), metadata=running.md())
        assert reason_of(err.value) == reason
    private_jwk = json.dumps(ECKey.generate_key("P-256").as_dict(private=True))
    sid, _ = sms_verification(running, ctx(loan="L-4"))
    with pytest.raises(grpc.RpcError) as leaked:
        person(running).RegisterDeviceKey(P.RegisterDeviceKeyRequest(
            applicant_id="acct-1", session_id=sid, public_key_jwk=private_jwk, device_id="dev-1"),
            metadata=running.md())
    assert reason_of(leaked.value) == "device_key_invalid"
    person(running).RegisterDeviceKey(P.RegisterDeviceKeyRequest(
        applicant_id="acct-1", session_id=sid, public_key_jwk=jwk, device_id="dev-1"), metadata=running.md())
    _, second, _ = p256()
    with pytest.raises(grpc.RpcError) as twice:  # one verification registers one device
        person(running).RegisterDeviceKey(P.RegisterDeviceKeyRequest(
            applicant_id="acct-1", session_id=sid, public_key_jwk=second, device_id="dev-2"), metadata=running.md())
    assert reason_of(twice.value) == "session_already_registered_device"


def test_a_recent_sim_swap_is_a_risk_input_and_a_signed_claim(tmp_path: Path, db_url: str) -> None:
    carrier = FakeSimSwap({PHONE})
    with person_app(tmp_path, db_url, sim_swap=carrier) as r:
        c = ctx()
        v = start(r, c)
        assert "sim_swap_recent" in v.risk.reason_codes and carrier.asked == [PHONE]
        pass_sms(r, c, v.session_id)
        token = complete(r, c, v.session_id).token
        verified = verifier(r).verify(token, expected=ExpectedBinding("L-1", "1000.00", "CNY", "6222-01"))
        assert verified.phone_change_source == "carrier:fake"
        c2 = ctx(loan="L-2")
        carrier.swapped.clear()
        v2 = start(r, c2, phone_changed=True)  # reported by the lender itself
        pass_sms(r, c2, v2.session_id)
        lender = verifier(r).verify(complete(r, c2, v2.session_id).token,
                                    expected=ExpectedBinding("L-2", "1000.00", "CNY", "6222-01"))
        assert lender.phone_change_source == "lender"
