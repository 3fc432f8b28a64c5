"""Adapters for capture evidence from outside the pixels: per-capture signing keys and platform attestation."""
