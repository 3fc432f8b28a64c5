"""The development outbox: one JSON line per message, never interleaved, private to its owner."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from idverify.sms.outbox import OutboxSmsSender
from tests.adapters.otp.harness import hammer
from tests.fakes import FixedClock, SeededRandom


def test_each_send_appends_one_json_line(tmp_path: Path) -> None:
    path = tmp_path / "var" / "outbox.jsonl"
    sender = OutboxSmsSender(path, FixedClock(), SeededRandom())
    first = sender.send("+8613812345678", "【安心贷】验证码482913")
    sender.send("+8613800000000", "second")
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    expected = {"to": "+8613812345678", "body": "【安心贷】验证码482913", "at": "2026-11-01T09:00:00+00:00"}
    expected["id"] = first
    assert lines[0] == expected
    assert len(lines) == 2
    assert lines[1]["id"] != first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_concurrent_senders_never_interleave_lines(tmp_path: Path) -> None:
    path = tmp_path / "outbox.jsonl"
    big = "码" * 5000  # long lines make interleaving visible if the lock did not hold

    def burst(i: int) -> None:
        sender = OutboxSmsSender(path)  # separate instances, as separate processes would be
        for j in range(20):
            sender.send(f"+86138000{i:02d}{j:03d}", f"{i}-{j}-{big}")

    assert all(r is None for r in hammer(burst))
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 16 * 20
    senders = {tuple(json.loads(line)["body"].split("-", 2)[:2]) for line in lines}
    assert len(senders) == 320
