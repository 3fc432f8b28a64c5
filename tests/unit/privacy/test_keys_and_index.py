"""Key providers, masked secrets, normalisation and blind indexes."""

from __future__ import annotations

import base64

import pytest

from idverify.domain.errors import FailedPrecondition, InvalidArgument
from idverify.privacy import (
    BlindIndex,
    ConfigKeyProvider,
    EnvelopeKeyProvider,
    SecretBytes,
)
from idverify.privacy.normalise import (
    normalise_id_number,
    normalise_ip,
    normalise_phone,
)

K1, IDX = b"\x01" * 32, b"\x09" * 32


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


def test_config_provider_parses_the_environment_form() -> None:
    ring = f"k1:{_b64(K1)}, k2:{_b64(b'2' * 32)}"
    keys = ConfigKeyProvider.from_text(data_keys=ring, active_kid="k2", index_key=_b64(IDX))
    assert keys.active_kid() == "k2"
    assert keys.data_key("k1") == K1
    assert keys.index_key() == IDX


def test_reprs_never_show_key_material() -> None:
    keys = ConfigKeyProvider(data_keys={"k1": K1}, active_kid="k1", index_key=IDX)
    for shown in (repr(keys), str(SecretBytes(K1)), repr(SecretBytes(K1)), repr(BlindIndex(IDX))):
        assert "\\x01" not in shown
        assert "\\t" not in shown
        assert "AQEB" not in shown
    assert "redacted" in repr(keys)


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"data_keys": {"k1": b"short"}, "active_kid": "k1", "index_key": IDX}, "data_key_invalid"),
        ({"data_keys": {"k1": K1}, "active_kid": "k9", "index_key": IDX}, "data_key_unknown"),
        ({"data_keys": {"k1": K1}, "active_kid": "k1", "index_key": b"x" * 8}, "index_key_invalid"),
        ({"data_keys": {"k1": K1}, "active_kid": "k1", "index_key": K1}, "index_key_invalid"),
        ({"data_keys": {"bad kid!": K1}, "active_kid": "bad kid!", "index_key": IDX}, "key_id_invalid"),
    ],
)
def test_bad_key_configuration_fails_with_a_named_reason(kwargs: dict[str, object], code: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        ConfigKeyProvider(**kwargs)  # type: ignore[arg-type]
    assert err.value.code == code


def test_bad_base64_is_refused() -> None:
    with pytest.raises(InvalidArgument) as err:
        ConfigKeyProvider.from_text(data_keys="k1:not base64!", active_kid="k1", index_key=_b64(IDX))
    assert err.value.code == "data_key_invalid"


def test_envelope_provider_unwraps_each_key_once_through_the_kms_hook() -> None:
    calls: list[str] = []

    def unwrap(kid: str, wrapped: bytes) -> bytes:
        calls.append(kid)
        return bytes(b ^ 0x55 for b in wrapped)

    def wrap(key: bytes) -> bytes:
        return bytes(b ^ 0x55 for b in key)

    keys = EnvelopeKeyProvider(
        wrapped_data_keys={"k1": wrap(K1)}, active_kid="k1", wrapped_index_key=wrap(IDX), unwrap=unwrap
    )
    keys.preload()
    assert keys.data_key("k1") == K1
    assert keys.index_key() == IDX
    assert calls == ["k1", "index"]


def test_envelope_provider_failure_is_a_typed_error() -> None:
    def unwrap(kid: str, wrapped: bytes) -> bytes:
        raise ConnectionError("kms down")

    keys = EnvelopeKeyProvider(wrapped_data_keys={"k1": b"w"}, active_kid="k1", wrapped_index_key=b"w", unwrap=unwrap)
    with pytest.raises(FailedPrecondition) as err:
        keys.preload()
    assert err.value.code == "key_unwrap_failed"


@pytest.mark.parametrize(
    "raw", ["+8613800138000", "13800138000", "138 0013 8000", "0086-138-0013-8000", "+86 (138) 0013.8000"]
)
def test_spellings_of_one_phone_normalise_to_e164(raw: str) -> None:
    assert normalise_phone(raw) == "+8613800138000"


@pytest.mark.parametrize("raw", ["", "+0123", "abc", "+86138001380001234567"])
def test_malformed_phones_are_refused_without_echoing_them(raw: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        normalise_phone(raw)
    assert err.value.code == "phone_malformed"
    assert (not raw or raw not in str(err.value))


def test_id_numbers_normalise_to_upper_case_without_separators() -> None:
    assert normalise_id_number(" 110105-19491231002x ") == "11010519491231002X"


def test_ipv4_mapped_ipv6_normalises_to_ipv4() -> None:
    assert normalise_ip("::ffff:10.0.0.1") == "10.0.0.1"
    assert normalise_ip("2001:DB8:0:0::1") == "2001:db8::1"


def test_blind_index_is_stable_across_spellings_and_keyed() -> None:
    index = BlindIndex(IDX)
    assert index.phone("13800138000") == index.phone("+86 138 0013 8000")
    assert index.id_number("11010519491231002x") == index.id_number("11010519491231002X")
    assert index.phone("13800138000") != BlindIndex(b"\x08" * 32).phone("13800138000")
    assert len(index.phone("13800138000")) == 64
    assert "13800138000" not in index.phone("13800138000")


def test_blind_index_separates_kinds() -> None:
    index = BlindIndex(IDX)
    assert index.of("device", "abc") != index.of("applicant", "abc")
