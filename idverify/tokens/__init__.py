"""Signed single-use verification tokens: the server side (key ring, issuer, CLI). The verifier that loan services
import lives in ``idverify.client``; the wire format is documented in ``idverify.client.claims``.

Importing this package imports nothing; ``assurance`` is pure (standard library and domain only).

Library choice (figures in ``bench/results/tokens.md``, produced by ``bench/bench_tokens.py``):

* joserfc 1.8.0 signs and serialises. Its JWS/JWK modules mirror the RFCs (7515, 7517, 7638, 8037), it accepts only
  the algorithms a registry allows, and it gives us RFC 7638 thumbprints and JWK export. We give it a private
  registry holding one algorithm (``idverify.client.jose``), so no global state is touched.
* The verifier parses the compact JWS itself (strictly: exactly three header members, canonical base64url, no
  duplicate JSON members, a size cap before parsing) and calls joserfc's Ed25519 algorithm for the signature.
  The header check is done once per distinct header spelling and remembered, so the per-token cost beyond the
  Ed25519 verify is the payload's JSON and the claim checks.
* raw ``cryptography`` would be marginally faster, but every JOSE detail (thumbprints, JWK encoding, header rules)
  would be ours to write and get wrong.
* PyJWT 2.15.1 is a dev dependency only: the interoperability tests use it as an independent implementation that
  must accept our tokens against our JWKS.

Algorithm name: ``"EdDSA"`` on the wire (RFC 8037), which verifiers in other languages expect, with the key pinned to
Ed25519 by our registry; joserfc 1.8's RFC 9864 ``SecurityWarning`` for ``"EdDSA"`` is avoided by that private
registry rather than by a process-wide warnings filter.
"""
