"""Personal data at rest: field encryption, blind indexes, key providers, retention and erasure."""

from idverify.privacy.blind_index import BlindIndex
from idverify.privacy.cipher import FieldCipher, FieldContext, kid_of
from idverify.privacy.keys import (
    ConfigKeyProvider,
    EnvelopeKeyProvider,
    KeyProvider,
    SecretBytes,
)

__all__ = [
    "BlindIndex",
    "ConfigKeyProvider",
    "EnvelopeKeyProvider",
    "FieldCipher",
    "FieldContext",
    "KeyProvider",
    "SecretBytes",
    "kid_of",
]
