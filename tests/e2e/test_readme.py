"""The README's examples run as written against a real server.

The quick start's shell blocks (all but the `make run` set-up block, which is what this test does itself: start the
service with a data folder `var/` beside `.venv`) run in one bash script with `set -euo pipefail`. The only
substitutions are the addresses: the test's server listens on free ports, not 50051 and 9464. The grpcurl block
runs in the same script with `grpcurl` defined as a shell function that records its arguments (grpcurl is not
packaged for Debian bookworm); each recorded call is then sent as grpcurl would send it (service and method found by
server reflection, `-H` headers, `-d` JSON parsed against the reflected request type), and the answers checked.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor_pool, json_format, message_factory
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from tests.e2e.conftest import Server

README = Path(__file__).resolve().parents[2] / "README.md"
DEFAULT_GRPC, DEFAULT_ADMIN = "127.0.0.1:50051", "127.0.0.1:9464"


def section(text: str, heading: str) -> str:
    start = text.index(heading)
    level = heading.split(" ", maxsplit=1)[0]
    following = re.search(rf"^{level} ", text[start + len(heading):], flags=re.MULTILINE)
    return text[start: start + len(heading) + following.start()] if following else text[start:]


def shell_blocks(text: str) -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)


def test_the_readme_has_the_blocks_this_test_runs() -> None:
    """Guards the extraction itself: renaming a heading or dropping a block must fail here, not pass silently."""
    text = README.read_text()
    quick = shell_blocks(section(text, "## Quick start"))
    assert len(quick) >= 3 and "make run" in quick[0]
    assert any("client redeem" in block for block in quick) and any("token verify" in block for block in quick)
    assert re.search(r"https://[^\s\"']*:9464", text) is None  # the admin port speaks plain HTTP
    assert 'TokenVerifier("http://' in section(text, "## Verifying tokens in another service")
    assert len(shell_blocks(section(text, "### grpcurl"))) == 1


def grpcurl(address: str, argv: list[str]) -> Any:
    """What `grpcurl -plaintext [-H h]... [-d json] ADDRESS (list | SERVICE/METHOD)` does, through reflection."""
    headers: list[tuple[str, str]] = []
    data = "{}"
    rest: list[str] = []
    args = iter(argv)
    for arg in args:
        if arg == "-plaintext":
            continue
        if arg == "-H":
            name, _, value = next(args).partition(":")
            headers.append((name.strip().lower(), value.strip()))
        elif arg == "-d":
            data = next(args)
        else:
            rest.append(arg)
    target, verb = rest
    assert target == address
    with grpc.insecure_channel(address) as channel:
        database = ProtoReflectionDescriptorDatabase(channel)
        if verb == "list":
            return sorted(database.get_services())
        service_name, method_name = verb.split("/")
        pool = descriptor_pool.DescriptorPool(database)
        method = pool.FindServiceByName(service_name).FindMethodByName(method_name)
        request_type = message_factory.GetMessageClass(method.input_type)
        reply_type = message_factory.GetMessageClass(method.output_type)
        request = json_format.Parse(data, request_type())  # an unknown field or a bad value raises here
        call = channel.unary_unary(f"/{service_name}/{method_name}",
                                   request_serializer=request_type.SerializeToString,
                                   response_deserializer=reply_type.FromString)
        reply = call(request, metadata=headers, timeout=20)
        return json_format.MessageToDict(reply, preserving_proto_field_name=True)


@pytest.mark.slow
def test_the_quick_start_and_the_grpcurl_examples_run_as_written(tmp_path: Path) -> None:
    text = README.read_text()
    quick = [b for b in shell_blocks(section(text, "## Quick start")) if "make run" not in b]
    (grpcurl_block,) = shell_blocks(section(text, "### grpcurl"))

    work = tmp_path / "checkout"
    work.mkdir()
    (work / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)  # this test's own environment
    server = Server(work / "var", env={"IDVERIFY_FACE": "off", "IDVERIFY_DOCUMENTS": "off", "IDVERIFY_WORKERS": "1"})
    server.data_dir.mkdir()
    admin = ""
    try:
        server.start()
        admin = f"127.0.0.1:{server.admin_port}"
        keys = tomllib.loads((server.data_dir / "dev-api-keys.toml").read_text())
        calls = tmp_path / "grpcurl-calls"
        calls.mkdir()
        script = "\n".join([
            "set -euo pipefail",
            # Test wiring, not README text: where the grpcurl stand-in records its calls, and the keys it names.
            f"grpcurl() {{ printf '%s\\0' \"$@\" > {calls}/$(date +%s%N).args; }}",
            f"LOAN_SERVICE_KEY={keys['loan_service']}; APP_BACKEND_KEY={keys['app_backend']}",
            *quick,
            grpcurl_block,
        ]).replace(DEFAULT_GRPC, server.address).replace(DEFAULT_ADMIN, admin)
        done = subprocess.run(["bash", "-c", script], cwd=work, capture_output=True, text=True, timeout=300,
                              env={**os.environ, "IDVERIFY_SERVER": server.address})
        assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        recorded = [p.read_text().split("\0")[:-1] for p in sorted(calls.glob("*.args"))]
        answers = [grpcurl(server.address, argv) for argv in recorded]
    finally:
        if server.process is not None and server.process.poll() is None:
            server.terminate()

    out = done.stdout
    assert out.splitlines()[0] == "SERVING"
    redemption = json.loads(out[out.index("{\n  \"token_id\""):out.index("}\n", out.index("\"token_id\"")) + 1])
    assert redemption["methods"] == ["sms"] and redemption["redemption_id"]
    assert "token_binding_mismatch" in done.stderr
    assert "refused, as it should be: the token is for 1200.00" in out
    assert "\\u" not in out  # readable UTF-8, never escapes

    assert len(answers) == len(re.findall(r"^grpcurl ", grpcurl_block, flags=re.MULTILINE)) == 5
    services, health, jwks, started, introspected = answers
    assert {"idverify.v1.TokenService", "idverify.v1.VerificationService", "grpc.health.v1.Health"} <= set(services)
    assert health == {"status": "SERVING"}
    assert json.loads(jwks["jwks_json"])["keys"][0]["crv"] == "Ed25519"
    assert started["verification"]["session_id"].startswith("vs_")
    assert introspected["state"] == "TOKEN_STATE_REDEEMED"
