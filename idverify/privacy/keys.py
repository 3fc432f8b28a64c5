"""Where field-encryption and blind-index keys come from.

:class:`KeyProvider` is the port. :class:`ConfigKeyProvider` holds keys given in configuration (base64 text in
environment variables or a secrets file). :class:`EnvelopeKeyProvider` is the KMS hook: configuration holds only
*wrapped* data keys, and a deployment-supplied ``unwrap(kid, wrapped) -> bytes`` asks its KMS (AWS KMS
``Decrypt``, Google Cloud KMS ``decrypt``, Vault transit ``decrypt``, an HSM) to unwrap each key once, on first
use. Neither keeps keys anywhere but in process memory, and neither shows a key in its repr.
"""

from __future__ import annotations

import base64
import binascii
import threading
from collections.abc import Callable, Mapping
from typing import Protocol

from idverify.domain.errors import FailedPrecondition, InvalidArgument

DATA_KEY_BYTES = 32
MIN_INDEX_KEY_BYTES = 32


class SecretBytes:
    """Bytes that never print: ``repr`` and ``str`` show only the length."""

    __slots__ = ("_value",)

    def __init__(self, value: bytes) -> None:
        self._value = bytes(value)

    def reveal(self) -> bytes:
        return self._value

    def __len__(self) -> int:
        return len(self._value)

    def __repr__(self) -> str:
        return f"SecretBytes(<{len(self._value)} bytes redacted>)"

    __str__ = __repr__


class KeyProvider(Protocol):
    """The keys the privacy layer needs. Data keys are 32 bytes (AES-256); kids are short ASCII labels."""

    def active_kid(self) -> str: ...

    def data_key(self, kid: str) -> bytes: ...

    def index_key(self) -> bytes: ...


def _check_kid(kid: str) -> None:
    if not (0 < len(kid) <= 32 and kid.isascii() and kid.replace("-", "").replace("_", "").isalnum()):
        raise InvalidArgument("key_id_invalid", "key ids are 1-32 ASCII letters, digits, '-' or '_'")


class ConfigKeyProvider:
    """Keys held in configuration. Old kids stay in ``data_keys`` after a rotation so old ciphertexts decrypt."""

    def __init__(self, *, data_keys: Mapping[str, bytes], active_kid: str, index_key: bytes) -> None:
        for kid, key in data_keys.items():
            _check_kid(kid)
            if len(key) != DATA_KEY_BYTES:
                raise InvalidArgument("data_key_invalid", f"data key {kid!r} must be {DATA_KEY_BYTES} bytes")
        if active_kid not in data_keys:
            raise InvalidArgument("data_key_unknown", f"active kid {active_kid!r} is not in the key ring")
        if len(index_key) < MIN_INDEX_KEY_BYTES:
            raise InvalidArgument("index_key_invalid", f"the blind-index key needs {MIN_INDEX_KEY_BYTES}+ bytes")
        if index_key in data_keys.values():
            raise InvalidArgument("index_key_invalid", "the blind-index key must differ from every data key")
        self._data = {kid: SecretBytes(key) for kid, key in data_keys.items()}
        self._active = active_kid
        self._index = SecretBytes(index_key)

    @classmethod
    def from_text(cls, *, data_keys: str, active_kid: str, index_key: str) -> ConfigKeyProvider:
        """Parse ``"kid1:BASE64,kid2:BASE64"`` and a base64 index key (the form environment variables use)."""
        ring: dict[str, bytes] = {}
        for item in filter(None, (part.strip() for part in data_keys.split(","))):
            kid, sep, encoded = item.partition(":")
            if not sep:
                raise InvalidArgument("data_key_invalid", "each data key is written kid:base64")
            ring[kid.strip()] = _b64(encoded, "data_key_invalid")
        return cls(data_keys=ring, active_kid=active_kid, index_key=_b64(index_key, "index_key_invalid"))

    def active_kid(self) -> str:
        return self._active

    def data_key(self, kid: str) -> bytes:
        secret = self._data.get(kid)
        if secret is None:
            raise FailedPrecondition("field_key_unknown", f"no data key with kid {kid!r}")
        return secret.reveal()

    def index_key(self) -> bytes:
        return self._index.reveal()

    def __repr__(self) -> str:
        return f"ConfigKeyProvider(kids={sorted(self._data)!r}, active_kid={self._active!r}, keys=<redacted>)"


class EnvelopeKeyProvider:
    """The KMS hook: wrapped keys in configuration, unwrapped once by ``unwrap(kid, wrapped)`` and cached.

    ``unwrap`` is where a deployment calls its KMS; it returns the plaintext key or raises. Any failure becomes
    ``FailedPrecondition("key_unwrap_failed")``; call :meth:`preload` at start-up so a KMS problem stops the
    service from turning SERVING instead of failing the first request.
    """

    def __init__(
        self,
        *,
        wrapped_data_keys: Mapping[str, bytes],
        active_kid: str,
        wrapped_index_key: bytes,
        unwrap: Callable[[str, bytes], bytes],
        index_kid: str = "index",
    ) -> None:
        if active_kid not in wrapped_data_keys:
            raise InvalidArgument("data_key_unknown", f"active kid {active_kid!r} is not in the key ring")
        self._wrapped = dict(wrapped_data_keys)
        self._wrapped_index = wrapped_index_key
        self._index_kid = index_kid
        self._active = active_kid
        self._unwrap = unwrap
        self._cache: dict[str, SecretBytes] = {}
        self._lock = threading.Lock()

    def preload(self) -> None:
        """Unwrap every key now (call at start-up)."""
        for kid in self._wrapped:
            self.data_key(kid)
        self.index_key()

    def active_kid(self) -> str:
        return self._active

    def data_key(self, kid: str) -> bytes:
        if kid not in self._wrapped:
            raise FailedPrecondition("field_key_unknown", f"no data key with kid {kid!r}")
        key = self._get(kid, self._wrapped[kid])
        if len(key) != DATA_KEY_BYTES:
            raise FailedPrecondition("key_unwrap_failed", f"unwrapped data key {kid!r} is not {DATA_KEY_BYTES} bytes")
        return key

    def index_key(self) -> bytes:
        key = self._get(self._index_kid, self._wrapped_index)
        if len(key) < MIN_INDEX_KEY_BYTES:
            raise FailedPrecondition("key_unwrap_failed", "unwrapped blind-index key is too short")
        return key

    def _get(self, kid: str, wrapped: bytes) -> bytes:
        with self._lock:
            cached = self._cache.get(kid)
            if cached is None:
                try:
                    cached = SecretBytes(self._unwrap(kid, wrapped))
                except Exception as exc:
                    raise FailedPrecondition("key_unwrap_failed", f"KMS could not unwrap key {kid!r}") from exc
                self._cache[kid] = cached
            return cached.reveal()

    def __repr__(self) -> str:
        return f"EnvelopeKeyProvider(kids={sorted(self._wrapped)!r}, active_kid={self._active!r}, keys=<redacted>)"


def _b64(text: str, code: str) -> bytes:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidArgument(code, "key material must be standard base64") from exc
