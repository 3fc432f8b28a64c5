"""Verification tokens: key ring, issuer and the server-side verifier."""
