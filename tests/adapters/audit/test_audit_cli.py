"""`idverify audit seal|verify` as an operator runs them: the first changed row named, exit status 1, and exported
checkpoints read back from a log file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import structlog
from sqlalchemy import text

from idverify import cli, logging_setup
from idverify.app import audit_tools
from idverify.audit import Actor, AuditEntry
from idverify.config import Settings


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("IDVERIFY_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("IDVERIFY_LOG_LEVEL", "INFO")
    assert cli.main(["db", "upgrade"]) == 0
    return Settings.from_env({"IDVERIFY_DATA_DIR": str(tmp_path)})


def test_seal_then_verify_then_a_rewrite_caught_by_the_exported_checkpoints(
        env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log, _, engine, _ = audit_tools(env)
    for i in range(5):
        with engine.begin() as conn:
            log.append(conn, AuditEntry(Actor("lender-a", "app_backend"), "verification.started", "session",
                                        f"ses_{i}", "ok"))
    capsys.readouterr()
    try:
        assert cli.main(["audit", "seal"]) == 0
        sealed = capsys.readouterr()
        assert "sealed 5 entries" in sealed.out
        exported = [line for line in sealed.err.splitlines() if '"audit_checkpoint"' in line]
        assert len(exported) == 1 and json.loads(exported[0])["position"] == 5
        log_file = tmp_path / "collected.log"
        log_file.write_text(sealed.err)

        assert cli.main(["audit", "verify", "--checkpoints", str(log_file)]) == 0
        assert "audit trail verifies: 5 entries (0 not yet sealed), 2 checkpoints" in capsys.readouterr().out

        with engine.begin() as conn:  # the newest entry and everything in the database that points at it
            fourth = conn.execute(text("SELECT chain_hash FROM audit_chain WHERE position = 4")).scalar_one()
            conn.execute(text("DELETE FROM audit_entries WHERE seq = 5"))
            conn.execute(text("DELETE FROM audit_chain WHERE position = 5"))
            conn.execute(text("DELETE FROM audit_checkpoints"))
            conn.execute(text("UPDATE audit_chain_head SET position = 4, max_entry_seq = 4, chain_hash = :h"),
                         {"h": fourth})
        assert cli.main(["audit", "verify"]) == 0
        capsys.readouterr()
        assert cli.main(["audit", "verify", "--checkpoints", str(log_file)]) == 1
        out = capsys.readouterr().out
        assert out.startswith("audit trail broken at chain position 5: deleted.")
    finally:
        engine.dispose()
        logging_setup.configure("WARNING")
        structlog.contextvars.clear_contextvars()
