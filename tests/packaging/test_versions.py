"""The client distribution moves in step with the server: the server's pyproject version is the one source, and
every other place that names a version must agree with it."""

from __future__ import annotations

import importlib.metadata
import re
import tomllib

import idverify_client

import idverify
from tests.packaging.venvs import CLIENT_PROJECT, REPO


def _project(path: str) -> dict:  # type: ignore[type-arg]
    return tomllib.loads((REPO / path).read_text())["project"]


def test_the_client_version_and_the_servers_pin_on_it_follow_the_server_version() -> None:
    server = _project("pyproject.toml")
    client = tomllib.loads((CLIENT_PROJECT / "pyproject.toml").read_text())["project"]
    version = server["version"]
    assert client["version"] == version
    pins = [d for d in server["dependencies"] if re.match(r"idverify-client\b", d)]
    assert pins == [f"idverify-client=={version}"]
    constraints = (REPO / "constraints.txt").read_text().splitlines()
    assert f"idverify-client=={version}" in constraints
    assert idverify.__version__ == version


def test_the_installed_client_reports_the_same_version() -> None:
    version = _project("pyproject.toml")["version"]
    assert importlib.metadata.version("idverify-client") == version == idverify_client.__version__
