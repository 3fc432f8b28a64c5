"""Disputes ("I never applied"), identity freezes and maker-checker approvals."""
