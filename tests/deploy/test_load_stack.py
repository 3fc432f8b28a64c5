"""The deployment docs/scaling.md describes, run for a few seconds by the load harness (bench/load) and checked:
two `idverify serve` replicas behind nginx (``grpc_pass``), on PostgreSQL through PgBouncer in transaction mode
with prepared statements off (``IDVERIFY_DATABASE_PREPARED_STATEMENTS=false``, as the Kubernetes config sets it).
PgBouncer holds two server connections for both replicas' pools, so consecutive transactions of one replica land
on different server connections (what breaks prepared statements and anything else kept per connection).

Every invariant of the harness must hold: no acknowledged session, token or redemption lost; exactly one winner
when two lenders redeem one token at once through different replicas; the OTP check budget across replicas; and
the audit chain, written through PgBouncer (a redemption's entry inside its own pipelined statement), sealed and
verified by `idverify audit`.
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter

import pytest

from bench.load.flows import Driver, Mix, Outbox
from bench.load.invariants import check
from bench.load.stack import Stack
from tests.deploy.tools import tool

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def test_replicas_behind_nginx_on_pgbouncer_keep_every_invariant() -> None:
    if not os.environ.get("IDVERIFY_TEST_POSTGRES_URL"):
        pytest.skip("IDVERIFY_TEST_POSTGRES_URL is not set (CI sets it); the stack needs the local PostgreSQL")
    tool("pgbouncer")
    tool("nginx")
    with Stack(replicas=2, workers=1, pgbouncer=True, face=False, pool_size=2) as stack:
        assert stack.env["IDVERIFY_DATABASE_PREPARED_STATEMENTS"] == "false"
        replicas = stack.replica_list
        driver = Driver(f"127.0.0.1:{stack.nginx_port}", [f"127.0.0.1:{r.grpc_port}" for r in replicas],
                        stack.api_keys, Outbox([r.outbox for r in replicas]),
                        Mix(race_share=0.4, otp_budget_share=0.15, face_share=0.0), photos=[])
        asyncio.run(driver.run(users=6, duration_s=60, max_flows=40))
        flows = Counter({k: v for k, v in driver.rec.flows.items() if v})
        assert set(flows) <= {"otp_ok", "race_ok", "otp_budget_ok"}, flows  # no flow failed
        assert flows["otp_ok"] and flows["race_ok"] and flows["otp_budget_ok"], flows
        verdicts = check(stack, driver.rec, stack.env)
    failed = [f"{v.name}: {v.detail}" for v in verdicts if not v.ok]
    assert not failed, failed
    assert len(verdicts) == 5
