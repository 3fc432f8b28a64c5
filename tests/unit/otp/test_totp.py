"""TOTP: RFC 6238 appendix B vectors, one step of drift, no replay, shared lockout."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlparse

import pyotp
import pytest

from idverify.domain.errors import AlreadyExists, FailedPrecondition, InvalidArgument, ResourceExhausted
from idverify.factors.totp import TotpConfig, TotpRecord, TotpService, provisioning_uri, time_step, totp_at
from tests.fakes import FixedClock, SeededRandom
from tests.unit.otp.memory import MemoryCounterStore, MemoryTotpStore

SEEDS = {
    "sha1": b"12345678901234567890",
    "sha256": b"12345678901234567890123456789012",
    "sha512": b"1234567890123456789012345678901234567890123456789012345678901234",
}
# RFC 6238 appendix B: (Unix time, algorithm, 8-digit TOTP)
VECTORS = [
    (59, "sha1", "94287082"), (59, "sha256", "46119246"), (59, "sha512", "90693936"),
    (1111111109, "sha1", "07081804"), (1111111109, "sha256", "68084774"), (1111111109, "sha512", "25091201"),
    (1111111111, "sha1", "14050471"), (1111111111, "sha256", "67062674"), (1111111111, "sha512", "99943326"),
    (1234567890, "sha1", "89005924"), (1234567890, "sha256", "91819424"), (1234567890, "sha512", "93441116"),
    (2000000000, "sha1", "69279037"), (2000000000, "sha256", "90698825"), (2000000000, "sha512", "38618901"),
    (20000000000, "sha1", "65353130"), (20000000000, "sha256", "77737706"), (20000000000, "sha512", "47863826"),
]


def at(unix: int) -> datetime:
    return datetime.fromtimestamp(unix, UTC)


@pytest.mark.parametrize(("unix", "algorithm", "expected"), VECTORS)
def test_rfc6238_appendix_b_vectors(unix: int, algorithm: str, expected: str) -> None:
    assert totp_at(SEEDS[algorithm], time_step(at(unix), 30), 8, algorithm) == expected


class Rig:
    def __init__(self, unix: int = 1111111109, algorithm: str = "sha1") -> None:
        self.clock = FixedClock(at(unix))
        self.store = MemoryTotpStore()
        self.counters = MemoryCounterStore()
        self.service = TotpService(
            store=self.store, counters=self.counters, clock=self.clock, random=SeededRandom(),
            config=TotpConfig(digits=8, algorithm=algorithm),
        )
        self.store.rows["app-1"] = TotpRecord("app-1", SEEDS[algorithm], 8, 30, algorithm)


@pytest.mark.parametrize(("unix", "algorithm", "expected"), VECTORS)
def test_the_service_accepts_the_rfc_vectors_at_their_times(unix: int, algorithm: str, expected: str) -> None:
    Rig(unix, algorithm).service.verify("app-1", expected)


def test_the_same_time_step_is_never_accepted_twice() -> None:
    rig = Rig()
    rig.service.verify("app-1", "07081804")
    with pytest.raises(FailedPrecondition) as err:
        rig.service.verify("app-1", "07081804")
    assert err.value.code == "totp_replayed"


def test_one_step_of_drift_is_accepted_either_way_but_not_two() -> None:
    rig = Rig(1111111109)  # step 37037036
    previous = totp_at(SEEDS["sha1"], 37037035, 8, "sha1")
    two_back = totp_at(SEEDS["sha1"], 37037034, 8, "sha1")
    following = totp_at(SEEDS["sha1"], 37037037, 8, "sha1")
    with pytest.raises(InvalidArgument) as err:
        rig.service.verify("app-1", two_back)
    assert err.value.code == "totp_incorrect"
    rig.service.verify("app-1", previous)
    rig.service.verify("app-1", following)


def test_an_older_step_is_refused_once_a_later_one_was_accepted() -> None:
    rig = Rig(1111111109)
    rig.service.verify("app-1", totp_at(SEEDS["sha1"], 37037037, 8, "sha1"))
    with pytest.raises(FailedPrecondition) as err:
        rig.service.verify("app-1", "07081804")  # current step, but earlier than the accepted one
    assert err.value.code == "totp_replayed"


def test_wrong_codes_count_against_the_applicant_lockout() -> None:
    rig = Rig()
    for _ in range(5):
        with pytest.raises(InvalidArgument):
            rig.service.verify("app-1", "00000000")
    with pytest.raises(ResourceExhausted) as err:
        rig.service.verify("app-1", "07081804")
    assert err.value.code == "otp_locked"


@pytest.mark.parametrize("bad", ["0708180", "070818040", "0708180a", "０７０８１８０４", ""])
def test_malformed_codes_are_refused_without_counting(bad: str) -> None:
    rig = Rig()
    for _ in range(10):
        with pytest.raises(InvalidArgument) as err:
            rig.service.verify("app-1", bad)
        assert err.value.code == "otp_malformed"
    rig.service.verify("app-1", "07081804")


def test_enrolment_returns_the_uri_once_and_the_secret_works() -> None:
    clock = FixedClock(at(1111111109))
    store = MemoryTotpStore()
    service = TotpService(
        store=store, counters=MemoryCounterStore(), clock=clock, random=SeededRandom(),
        config=TotpConfig(issuer="Acme Credit"),
    )
    enrolment = service.enroll("app-9", "app-9@acme")
    uri = urlparse(enrolment.provisioning_uri)
    assert uri.scheme == "otpauth"
    assert uri.netloc == "totp"
    query = parse_qs(uri.query)
    assert query["issuer"] == ["Acme Credit"]
    assert len(query["secret"][0]) == 32
    record = store.rows["app-9"]
    service.verify("app-9", totp_at(record.secret, time_step(clock.now(), 30), 6, "sha1"))
    with pytest.raises(AlreadyExists) as err:
        service.enroll("app-9", "app-9@acme")
    assert err.value.code == "totp_already_enrolled"


def test_verifying_without_enrolment_says_so() -> None:
    service = TotpService(
        store=MemoryTotpStore(), counters=MemoryCounterStore(), clock=FixedClock(), random=SeededRandom()
    )
    with pytest.raises(FailedPrecondition) as err:
        service.verify("nobody", "123456")
    assert err.value.code == "totp_not_enrolled"


@pytest.mark.parametrize("algorithm", ["sha1", "sha256", "sha512"])
@pytest.mark.parametrize("digits", [6, 8])
def test_codes_agree_with_pyotp_as_an_independent_implementation(algorithm: str, digits: int) -> None:
    rng = SeededRandom(11)
    for _ in range(50):
        secret = rng.token_bytes(20)
        step = rng.randbelow(2**34)
        theirs = pyotp.TOTP(base64.b32encode(secret).decode(), digits=digits, digest=getattr(hashlib, algorithm))
        assert totp_at(secret, step, digits, algorithm) == theirs.generate_otp(step)


@pytest.mark.parametrize(
    "config", [TotpConfig(), TotpConfig(digits=8, algorithm="sha256", period_s=60, issuer="安心 贷&Co")]
)
def test_pyotp_reads_our_provisioning_uri_and_computes_our_codes(config: TotpConfig) -> None:
    secret = SeededRandom(3).token_bytes(20)
    uri = provisioning_uri(secret, "applicant 42@acme", config)
    parsed = pyotp.parse_uri(uri)
    assert isinstance(parsed, pyotp.TOTP)
    assert parsed.issuer == config.issuer
    assert parsed.name == "applicant 42@acme"
    assert parsed.byte_secret() == secret
    when = at(1_900_000_000)
    assert parsed.at(when) == totp_at(secret, time_step(when, config.period_s), config.digits, config.algorithm)
