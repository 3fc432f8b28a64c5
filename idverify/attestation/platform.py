"""Platform attestation adapters. No vendor is a hard dependency: without a configured verifier for a platform,
its attestations are not judged (``None``) and the token says attestation did not run.

A Play Integrity adapter would decrypt and verify the integrity token with the app's keys (or Google's
``decodeIntegrityToken`` API), check ``requestDetails.nonce`` against the challenge nonce and read
``appIntegrity.appRecognitionVerdict`` and ``deviceIntegrity``; an App Attest adapter would verify the
attestation object's certificate chain to Apple's root and the ``clientDataHash`` over the nonce. Neither is
built here (no network, no vendor keys); they satisfy ``idverify.domain.ports.PlatformAttestor`` when added.
"""

from __future__ import annotations

import hashlib
import hmac

PLATFORMS = ("play_integrity", "app_attest")


class NoPlatformAttestor:
    """Judges nothing: every attestation is ``None`` (not evidence)."""

    def judge(self, platform: str, token: bytes, nonce: str) -> str | None:
        return None


class SharedSecretAttestor:
    """For development and tests only: a "token" is HMAC-SHA256(secret, platform || nonce); a match is genuine,
    anything else failed. It proves the wiring, not a device."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("the development attestation secret must be at least 16 bytes")
        self._secret = secret

    def token_for(self, platform: str, nonce: str) -> bytes:
        return hmac.new(self._secret, platform.encode() + b"|" + nonce.encode(), hashlib.sha256).digest()

    def judge(self, platform: str, token: bytes, nonce: str) -> str | None:
        if platform not in PLATFORMS:
            return None
        return "genuine" if hmac.compare_digest(token, self.token_for(platform, nonce)) else "failed"
