"""API keys in IDVERIFY_API_KEYS_FILE rotate without a restart: a new key works once written, a withdrawn key
stops working, and both work during the overlap."""

from __future__ import annotations

import os
import time
from pathlib import Path

import grpc
import pytest

from idverify.api.v1 import token_pb2, token_pb2_grpc
from idverify.transport.auth import hash_api_key
from tests.transport.conftest import start_app
from tests.transport.test_server import reason_of

_WRITES = iter(range(1, 1000))


def write(path: Path, *keys: str) -> None:
    path.write_text("# loan service keys\n" + "".join(f"loan-svc:loan_service:{hash_api_key(k)}\n" for k in keys))
    later = time.time() + next(_WRITES)  # a distinct mtime for each write, however fast the test runs
    os.utime(path, (later, later))


def test_api_keys_rotate_through_the_keys_file_without_a_restart(tmp_path: Path) -> None:
    keys = tmp_path / "api-keys.txt"
    write(keys, "old-key-0123456789")
    app = start_app(tmp_path / "data", IDVERIFY_API_KEYS_FILE=str(keys))
    channel = grpc.insecure_channel(f"127.0.0.1:{app.grpc.port}")
    stub = token_pb2_grpc.TokenServiceStub(channel)

    def call(key: str) -> None:
        stub.GetJwks(token_pb2.GetJwksRequest(), metadata=[("x-api-key", key)])

    try:
        call("old-key-0123456789")
        write(keys, "old-key-0123456789", "new-key-9876543210")
        call("old-key-0123456789")
        call("new-key-9876543210")
        write(keys, "new-key-9876543210")
        call("new-key-9876543210")
        with pytest.raises(grpc.RpcError) as err:
            call("old-key-0123456789")
        assert reason_of(err.value) == "credentials_invalid"
        keys.write_text("this line is not a key entry\n")
        bump = time.time() + next(_WRITES)
        os.utime(keys, (bump, bump))
        call("new-key-9876543210")  # a broken file keeps the last good keys
    finally:
        channel.close()
        app.stop(grace_s=1)
