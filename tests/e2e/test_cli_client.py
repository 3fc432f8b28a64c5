"""`idverify` as a person meets it: exit codes that mean something, readable Chinese, `--json` anywhere, one line for
a server that is down, when to retry, the last code from the development outbox, and start-up errors that name the
variable instead of a traceback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from idverify.cli import listen_problem, take_json_flag
from tests.e2e.conftest import Server, free_port

CTX = ["--applicant", "acct-5", "--loan", "L-500", "--amount", "500.00", "--locale", "zh-CN"]


def test_json_is_taken_from_anywhere_before_a_double_dash() -> None:
    assert take_json_flag(["client", "start", "--json", "--loan", "L"]) == (True, ["client", "start", "--loan", "L"])
    assert take_json_flag(["client", "health"]) == (False, ["client", "health"])
    assert take_json_flag(["token", "verify", "--", "--json"]) == (False, ["token", "verify", "--", "--json"])


def test_a_listen_address_in_use_is_named_by_its_variable() -> None:
    grpc_failure = RuntimeError("Failed to bind to address 127.0.0.1:50051; set GRPC_VERBOSITY=debug")
    assert listen_problem(grpc_failure, "127.0.0.1:50051", "127.0.0.1:9464").startswith(  # type: ignore[union-attr]
        "IDVERIFY_GRPC_ADDRESS=127.0.0.1:50051: cannot listen there")
    admin_failure = OSError(98, "Address already in use")
    assert "IDVERIFY_ADMIN_ADDRESS=127.0.0.1:9464" in (listen_problem(admin_failure, "a", "127.0.0.1:9464") or "")
    assert listen_problem(OSError(2, "No such file or directory"), "a", "b") is None
    assert listen_problem(RuntimeError("something else"), "a", "b") is None


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("cli"),
                 env={"IDVERIFY_FACE": "off", "IDVERIFY_DOCUMENTS": "off", "IDVERIFY_WORKERS": "1"})
    try:
        srv.start()
        yield srv
    finally:
        if srv.process is not None and srv.process.poll() is None:
            srv.terminate()


@pytest.mark.slow
def test_a_wrong_code_exits_1_and_says_why_in_readable_chinese(server: Server) -> None:
    started = server.cli("start", *CTX, "--phone", "+8613800138000", "--payout-account", "6222-05", "--json")
    assert started.returncode == 0, started.stderr
    assert "\n" not in started.stdout.strip()  # --json after the command: one line
    session = json.loads(started.stdout)["verification"]["session_id"]
    assert server.cli("send-otp", *CTX, "--session", session).returncode == 0

    again = server.cli("send-otp", *CTX, "--session", session)
    assert again.returncode == 1
    assert again.stderr.startswith("error: RESOURCE_EXHAUSTED otp_resend_too_soon: 请稍后再获取验证码。 (retry after ")
    assert again.stderr.rstrip().endswith(" s)") and "Traceback" not in again.stderr

    code = server.cli("sms-outbox")
    assert code.returncode == 0 and code.stdout.strip().isdigit() and len(code.stdout.strip()) == 6
    wrong = "000000" if code.stdout.strip() != "000000" else "111111"
    checked = server.cli("check-otp", *CTX, "--session", session, "--code", wrong)
    assert checked.returncode == 1
    assert "验证码不正确" in checked.stdout and "\\u" not in checked.stdout
    assert checked.stderr.startswith("sms_otp failed: otp_incorrect: 验证码不正确。 (")
    assert "attempts left" in checked.stderr
    right = server.cli("check-otp", *CTX, "--session", session, "--code", code.stdout.strip(), "--field",
                       "result.outcome")
    assert (right.returncode, right.stdout.strip()) == (0, "FACTOR_OUTCOME_PASSED")


@pytest.mark.slow
def test_jwks_prints_the_key_set_as_json_and_refusals_as_json_too(server: Server) -> None:
    jwks = server.cli("jwks")
    assert jwks.returncode == 0
    document = json.loads(jwks.stdout)
    assert isinstance(document, dict) and document["keys"][0]["kty"] == "OKP"
    refused = server.cli("redeem", "--token", "not-a-token", "--loan", "L", "--amount", "1.00",
                         "--payout-account", "1", "--json")
    assert refused.returncode == 1
    error = json.loads(refused.stdout)["error"]
    assert error["reason"] in {"token_invalid", "token_malformed"} and len(error["request_id"]) >= 16


@pytest.mark.slow
def test_the_outbox_reader_is_for_development_only(server: Server) -> None:
    env = {**os.environ, "IDVERIFY_ENV": "production"}
    done = subprocess.run([sys.executable, "-m", "idverify", "client", "--data-dir", str(server.data_dir),
                           "sms-outbox"], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 2 and "development only" in done.stderr


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "idverify", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})}, cwd=cwd)


def test_a_server_that_is_down_is_one_line_and_exit_status_3(tmp_path: Path) -> None:
    address = f"127.0.0.1:{free_port()}"
    for command in (["health"], ["jwks", "--api-key", "k"], ["--json", "start", *CTX, "--payout-account", "1",
                                                              "--api-key", "k"]):
        done = run_cli("client", "--server", address, "--timeout", "3", *command, cwd=tmp_path)
        assert done.returncode == 3, done.stderr
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
        assert done.stderr.startswith(f"idverify client: cannot reach the server at {address}")


@pytest.mark.slow
def test_serve_names_the_variable_for_bad_settings_and_busy_ports(tmp_path: Path) -> None:
    base = {"IDVERIFY_DATA_DIR": str(tmp_path / "var"), "IDVERIFY_FACE": "off", "IDVERIFY_DOCUMENTS": "off",
            "IDVERIFY_WORKERS": "1", "IDVERIFY_GRPC_ADDRESS": f"127.0.0.1:{free_port()}",
            "IDVERIFY_ADMIN_ADDRESS": f"127.0.0.1:{free_port()}"}
    bad_yaw = run_cli("serve", env={**base, "IDVERIFY_LIVENESS_TURN_YAW": "left"}, cwd=tmp_path)
    assert bad_yaw.returncode == 2 and "Traceback" not in bad_yaw.stderr
    assert "IDVERIFY_LIVENESS_TURN_YAW='left' is not a number (accepted: 0.05 to 1.0)" in bad_yaw.stderr
    bad_url = run_cli("serve", env={**base, "IDVERIFY_DATABASE_URL": "mysql://root:hunter2pw@db/x"}, cwd=tmp_path)
    assert bad_url.returncode == 2 and "Traceback" not in bad_url.stderr
    assert "IDVERIFY_DATABASE_URL cannot be used (" in bad_url.stderr and "hunter2pw" not in bad_url.stderr
    no_folder = run_cli("serve", env={**base, "IDVERIFY_DATA_DIR": "/proc/no-such-folder"}, cwd=tmp_path)
    assert no_folder.returncode == 2 and "Traceback" not in no_folder.stderr
    assert "IDVERIFY_DATA_DIR=/proc/no-such-folder: " in no_folder.stderr
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = f"127.0.0.1:{busy.getsockname()[1]}"
        for variable in ("IDVERIFY_GRPC_ADDRESS", "IDVERIFY_ADMIN_ADDRESS"):
            done = run_cli("serve", env={**base, variable: taken}, cwd=tmp_path)
            assert done.returncode == 2, done.stderr[-2000:]
            assert f"idverify: configuration error: {variable}={taken}: cannot listen there" in done.stderr
            assert "Traceback" not in done.stderr
