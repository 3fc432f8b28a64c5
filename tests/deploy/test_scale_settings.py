"""Settings and engine options that scaling out depends on."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import text

from idverify.config import ConfigError, Settings, default_workers
from idverify.storage.engine import make_engine


def test_workers_default_to_the_cores_this_process_may_use() -> None:
    assert Settings.from_env({}).workers == default_workers() == len(os.sched_getaffinity(0))
    assert Settings.from_env({"IDVERIFY_WORKERS": "3"}).workers == 3


@pytest.mark.parametrize("value", ["0", "65", "two"])
def test_a_bad_worker_count_names_the_variable(value: str) -> None:
    with pytest.raises(ConfigError, match="IDVERIFY_WORKERS"):
        Settings.from_env({"IDVERIFY_WORKERS": value})


def test_night_burst_limit_is_a_setting_with_the_rule_default() -> None:
    assert Settings.from_env({}).risk_night_burst_max_starts == 5
    assert Settings.from_env({"IDVERIFY_RISK_NIGHT_BURST_MAX_STARTS": "400"}).risk_night_burst_max_starts == 400
    with pytest.raises(ConfigError, match="IDVERIFY_RISK_NIGHT_BURST_MAX_STARTS"):
        Settings.from_env({"IDVERIFY_RISK_NIGHT_BURST_MAX_STARTS": "0"})


@pytest.mark.postgres
@pytest.mark.parametrize("prepared", [True, False])
def test_without_prepared_statements_psycopg_never_prepares(prepared: bool) -> None:
    """Behind PgBouncer in transaction mode a prepared statement may be missing on the next server connection:
    with IDVERIFY_DATABASE_PREPARED_STATEMENTS=false the same query run many times is never prepared."""
    url = os.environ.get("IDVERIFY_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("IDVERIFY_TEST_POSTGRES_URL is not set (CI sets it)")
    engine = make_engine(url, prepared_statements=prepared)
    try:
        with engine.connect() as conn:
            for i in range(8):
                conn.execute(text("SELECT :n + 1"), {"n": i})
            count = conn.execute(text("SELECT count(*) FROM pg_prepared_statements")).scalar_one()
    finally:
        engine.dispose()
    assert (count > 0) is prepared
    assert Settings.from_env({"IDVERIFY_DATABASE_PREPARED_STATEMENTS": "false"}).database_prepared_statements is False
