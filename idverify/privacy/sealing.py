"""The domain's ``FieldProtector`` over the AES-GCM ``FieldCipher`` from ``idverify.privacy``."""

from __future__ import annotations

from idverify.privacy.cipher import FieldCipher, FieldContext


class SealedFields:
    """``aad`` is "table.column.row_id": a ciphertext copied to another row or column does not decrypt."""

    def __init__(self, cipher: FieldCipher) -> None:
        self._cipher = cipher

    def seal(self, value: str, aad: str) -> bytes:
        return self._cipher.encrypt(value, _context(aad))

    def unseal(self, sealed: bytes, aad: str) -> str:
        return self._cipher.decrypt_text(sealed, _context(aad))


def _context(aad: str) -> FieldContext:
    table, column, row_id = aad.split(".", 2)
    return FieldContext(table=table, column=column, row_id=row_id)
