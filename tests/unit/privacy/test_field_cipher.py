"""AES-256-GCM field encryption with a key ring and row binding."""

from __future__ import annotations

import pytest

from idverify.domain.errors import FailedPrecondition
from idverify.privacy import ConfigKeyProvider, FieldCipher, FieldContext, kid_of
from tests.fakes import SeededRandom

K1, K2, IDX = b"\x01" * 32, b"\x02" * 32, b"\x09" * 32
CTX = FieldContext("face_templates", "template", "tpl_1")


def _cipher(active: str = "k1", ring: dict[str, bytes] | None = None) -> FieldCipher:
    keys = ConfigKeyProvider(data_keys=ring or {"k1": K1, "k2": K2}, active_kid=active, index_key=IDX)
    return FieldCipher(keys, SeededRandom())


def test_text_and_bytes_round_trip() -> None:
    cipher = _cipher()
    assert cipher.decrypt_text(cipher.encrypt("张三", CTX), CTX) == "张三"
    assert cipher.decrypt(cipher.encrypt(b"\x00\xff", CTX), CTX) == b"\x00\xff"


def test_ciphertext_names_its_kid_and_hides_the_plaintext() -> None:
    blob = _cipher().encrypt("+8613800138000", CTX)
    assert kid_of(blob) == "k1"
    assert b"13800138000" not in blob


def test_two_encryptions_of_one_value_differ() -> None:
    cipher = _cipher()
    assert cipher.encrypt("x", CTX) != cipher.encrypt("x", CTX)


@pytest.mark.parametrize(
    "other",
    [
        FieldContext("face_templates", "template", "tpl_2"),
        FieldContext("face_templates", "other", "tpl_1"),
        FieldContext("sessions", "template", "tpl_1"),
    ],
)
def test_ciphertext_moved_to_another_row_column_or_table_does_not_decrypt(other: FieldContext) -> None:
    cipher = _cipher()
    with pytest.raises(FailedPrecondition) as err:
        cipher.decrypt(cipher.encrypt("secret", CTX), other)
    assert err.value.code == "field_ciphertext_invalid"


def test_flipped_bit_is_refused() -> None:
    cipher = _cipher()
    blob = bytearray(cipher.encrypt("secret", CTX))
    blob[-1] ^= 1
    with pytest.raises(FailedPrecondition, match="does not authenticate"):
        cipher.decrypt(bytes(blob), CTX)


def test_relabelled_kid_is_refused() -> None:
    cipher = _cipher()
    blob = cipher.encrypt("secret", CTX)
    with pytest.raises(FailedPrecondition):
        cipher.decrypt(blob.replace(b"k1", b"k2", 1), CTX)


def test_old_ciphertext_decrypts_after_rotation_and_rotates_to_the_active_key() -> None:
    old = _cipher(active="k1").encrypt("secret", CTX)
    rotated_cipher = _cipher(active="k2")
    assert rotated_cipher.needs_rotation(old)
    new = rotated_cipher.rotate(old, CTX)
    assert kid_of(new) == "k2"
    assert rotated_cipher.decrypt_text(new, CTX) == "secret"
    assert rotated_cipher.rotate(new, CTX) is new


def test_retired_key_is_reported_as_unknown() -> None:
    old = _cipher(active="k1").encrypt("secret", CTX)
    with pytest.raises(FailedPrecondition) as err:
        _cipher(active="k2", ring={"k2": K2}).decrypt(old, CTX)
    assert err.value.code == "field_key_unknown"


@pytest.mark.parametrize("blob", [b"", b"\x02k", b"\x01\x02k1" + b"\x00" * 5])
def test_malformed_blobs_are_refused(blob: bytes) -> None:
    with pytest.raises(FailedPrecondition) as err:
        _cipher().decrypt(blob, CTX)
    assert err.value.code == "field_ciphertext_invalid"
