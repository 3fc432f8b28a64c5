"""What must hold after a load run, checked against the database and what the clients saw."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass

import psycopg

from bench.load.flows import Recorder
from bench.load.stack import Stack

MAX_CHECKS_PER_CODE = 5  # idverify.factors.otp_limits.OtpLimits.max_checks_per_code


@dataclass
class Verdict:
    name: str
    ok: bool
    detail: str


def last_line(text: str) -> str:
    return text.strip().splitlines()[-1] if text.strip() else ""


def check(stack: Stack, rec: Recorder, env: dict[str, str]) -> list[Verdict]:
    url = stack.direct_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as conn:
        stored = {r[0] for r in conn.execute("SELECT session_id FROM verification_sessions")}
        tokens = {r[0]: (r[1], r[2]) for r in conn.execute(
            "SELECT session_id, redeemed_at IS NOT NULL, redeemed_by FROM issued_tokens")}
    verdicts = []
    lost = [s for s in rec.started if s not in stored]
    verdicts.append(Verdict("no committed session lost", not lost,
                            f"{len(rec.started)} sessions acknowledged, {len(lost)} missing from the database"))
    unissued = [s for s in rec.completed if s not in tokens]
    unredeemed = [s for s in rec.redeemed if not tokens.get(s, (False, None))[0]]
    verdicts.append(Verdict("no committed token or redemption lost", not unissued and not unredeemed,
                            f"{len(rec.completed)} tokens acknowledged ({len(unissued)} missing), "
                            f"{len(rec.redeemed)} redemptions acknowledged ({len(unredeemed)} not recorded)"))
    doubles = [s for s, wins in rec.races if wins != 1]
    verdicts.append(Verdict("no double redemption (two lenders racing through different replicas)",
                            not doubles and bool(rec.races),
                            f"{len(rec.races)} races, {len(doubles)} with other than exactly one winner"))
    over = [(judged, passed) for judged, passed in rec.otp_budget if judged > MAX_CHECKS_PER_CODE or passed]
    judged_any = any(judged for judged, _ in rec.otp_budget)
    verdicts.append(Verdict("OTP check budget holds across replicas", not over and judged_any,
                            f"{len(rec.otp_budget)} sessions with 7 wrong codes spread over the replicas: "
                            f"at most {max((j for j, _ in rec.otp_budget), default=0)} judged (limit "
                            f"{MAX_CHECKS_PER_CODE}); right code passed after the budget in "
                            f"{sum(1 for _, p in rec.otp_budget if p)}"))
    audit_env = {**env, "IDVERIFY_DATABASE_URL": stack.direct_url, "IDVERIFY_DATABASE_PREPARED_STATEMENTS": "true",
                 "IDVERIFY_DATA_DIR": str(stack.tmp / "audit")}
    sealed = subprocess.run([sys.executable, "-m", "idverify", "audit", "seal"], check=False, env=audit_env,
                            cwd=stack.tmp,
                            capture_output=True, text=True, timeout=600)
    verified = subprocess.run([sys.executable, "-m", "idverify", "audit", "verify"], check=False,
                              env=audit_env, cwd=stack.tmp,
                              capture_output=True, text=True, timeout=600)
    verdicts.append(Verdict("audit chain verifies", verified.returncode == 0 and sealed.returncode == 0,
                            f"{last_line(sealed.stdout)}; {last_line(verified.stdout)}"
                            + ("" if verified.returncode == 0 else f" {verified.stderr.strip()[-300:]}")))
    return verdicts
