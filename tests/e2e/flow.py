"""A whole SMS-code verification through the `idverify client` command, ending in a token (for tests that need
one from a real server)."""

from __future__ import annotations

from tests.e2e.conftest import Server


def issue_token(server: Server, *, loan: str, amount: str, account: str, applicant: str = "acct-7") -> str:
    """Start, send a code, read it from the outbox, check it, complete; returns the token."""
    ctx = ["--applicant", applicant, "--loan", loan, "--amount", amount, "--locale", "en"]

    def field(*args: str) -> str:
        done = server.cli(*args)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    session = field("start", *ctx, "--phone", "+8613800138000", "--payout-account", account,
                    "--field", "verification.session_id")
    field("send-otp", *ctx, "--session", session, "--field", "code_length")
    code = field("sms-outbox")
    assert field("check-otp", *ctx, "--session", session, "--code", code, "--field", "result.outcome") == (
        "FACTOR_OUTCOME_PASSED")
    return field("complete", *ctx, "--session", session, "--field", "token")
