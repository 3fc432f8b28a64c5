"""API keys in IDVERIFY_API_KEYS_FILE rotate without a restart: a new key works within a look at the file
(IDVERIFY_API_KEYS_RECHECK_S, a second by default) of being written, a withdrawn key stops working as soon, and
both work during the overlap; between looks no RPC touches the file."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest

from idverify.api.v1 import token_pb2, token_pb2_grpc
from idverify.transport.auth import ApiKeyEntry, ApiKeysFile, hash_api_key, key_entries
from idverify.transport_config import parse_api_keys
from tests.fakes import ManualMonotonic
from tests.transport.conftest import start_app
from tests.transport.test_server import reason_of

_WRITES = iter(range(1, 1000))


def write(path: Path, *keys: str) -> None:
    path.write_text("# loan service keys\n" + "".join(f"loan-svc:loan_service:{hash_api_key(k)}\n" for k in keys))
    later = time.time() + next(_WRITES)  # a distinct mtime for each write, however fast the test runs
    os.utime(path, (later, later))


def eventually(check: Callable[[], None], timeout_s: float = 3.0) -> None:
    """Retry ``check`` until it passes: the server looks at the keys file at most once a second by default."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            check()
            return
        except (AssertionError, grpc.RpcError, pytest.fail.Exception):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_api_keys_rotate_through_the_keys_file_without_a_restart(tmp_path: Path) -> None:
    keys = tmp_path / "api-keys.txt"
    write(keys, "old-key-0123456789")
    app = start_app(tmp_path / "data", IDVERIFY_API_KEYS_FILE=str(keys))  # the default: looked at once a second
    channel = grpc.insecure_channel(f"127.0.0.1:{app.grpc.port}")
    stub = token_pb2_grpc.TokenServiceStub(channel)

    def call(key: str) -> None:
        stub.GetJwks(token_pb2.GetJwksRequest(), metadata=[("x-api-key", key)])

    def refused(key: str) -> None:
        with pytest.raises(grpc.RpcError) as err:
            call(key)
        assert reason_of(err.value) == "credentials_invalid"

    try:
        call("old-key-0123456789")
        refused("new-key-9876543210")
        write(keys, "old-key-0123456789", "new-key-9876543210")
        eventually(lambda: call("new-key-9876543210"))
        call("old-key-0123456789")
        write(keys, "new-key-9876543210")
        eventually(lambda: refused("old-key-0123456789"))
        call("new-key-9876543210")
        keys.write_text("this line is not a key entry\n")
        bump = time.time() + next(_WRITES)
        os.utime(keys, (bump, bump))
        time.sleep(1.5)  # past the next look at the file, which finds it broken
        call("new-key-9876543210")  # a broken file keeps the last good keys
    finally:
        channel.close()
        app.stop(grace_s=1)


def test_with_a_recheck_of_zero_a_withdrawn_key_stops_working_at_once(tmp_path: Path) -> None:
    keys = tmp_path / "api-keys.txt"
    write(keys, "old-key-0123456789", "new-key-9876543210")
    app = start_app(tmp_path / "data", IDVERIFY_API_KEYS_FILE=str(keys), IDVERIFY_API_KEYS_RECHECK_S="0")
    channel = grpc.insecure_channel(f"127.0.0.1:{app.grpc.port}")
    stub = token_pb2_grpc.TokenServiceStub(channel)
    try:
        stub.GetJwks(token_pb2.GetJwksRequest(), metadata=[("x-api-key", "old-key-0123456789")])
        write(keys, "new-key-9876543210")
        with pytest.raises(grpc.RpcError) as err:
            stub.GetJwks(token_pb2.GetJwksRequest(), metadata=[("x-api-key", "old-key-0123456789")])
        assert reason_of(err.value) == "credentials_invalid"
    finally:
        channel.close()
        app.stop(grace_s=1)


def _entries(text: str) -> tuple[ApiKeyEntry, ...]:
    return key_entries(parse_api_keys(text))


def test_the_keys_file_is_looked_at_once_per_recheck_interval_not_on_every_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = tmp_path / "api-keys.txt"
    write(keys, "old-key-0123456789")
    clock = ManualMonotonic()
    stats: list[Path] = []
    plain_stat = Path.stat

    def counted(self: Path, **kwargs: Any) -> Any:
        if self == keys:
            stats.append(self)
        return plain_stat(self, **kwargs)

    monkeypatch.setattr(Path, "stat", counted)
    watched = ApiKeysFile(keys, _entries, recheck_s=1.0, clock=clock)
    first = watched.keys()
    assert [e.caller_id for e in first] == ["loan-svc"]
    looked = len(stats)
    write(keys, "old-key-0123456789", "new-key-9876543210")
    clock.now += 0.5
    for _ in range(100):
        assert len(watched.keys()) == 1  # within the interval: the keys read last, and no system call
    assert len(stats) == looked
    clock.now += 0.5
    assert len(watched.keys()) == 2
    assert len(stats) == looked + 1

    immediate = ApiKeysFile(keys, _entries, recheck_s=0.0, clock=clock)
    write(keys, "new-key-9876543210")
    now_listed = immediate.keys()
    assert [e.key_sha256 for e in now_listed] == [bytes.fromhex(hash_api_key("new-key-9876543210"))]
