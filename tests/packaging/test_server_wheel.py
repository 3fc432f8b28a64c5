"""The server installs like any package: its wheel (built from the tree, installed with the client wheel it depends
on, not editable) carries its face and PAD models, and `idverify serve` started outside the repository loads them
and turns SERVING.

Installing the server's dependencies takes a while (onnxruntime, OpenCV, rapidocr, ...), so the environment with
the dependencies is kept under .cache/packaging/, keyed by pyproject.toml and constraints.txt; each run reinstalls
both idverify wheels into it and runs `pip check`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.packaging.venvs import CLIENT_PROJECT, REPO, build_wheel, fresh_venv, install, pip, site_packages


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _environment(client_wheel: Path, server_wheel: Path) -> Path:
    key = hashlib.sha256(b"".join((REPO / name).read_bytes() for name in ("pyproject.toml", "constraints.txt",
                                                                          "clients/python/pyproject.toml")))
    venv = REPO / ".cache" / "packaging" / f"server-{key.hexdigest()[:16]}"
    python = venv / "bin" / "python"
    if not python.exists():
        for stale in venv.parent.glob("server-*"):  # one cached environment at a time: each is about 600 MB
            shutil.rmtree(stale, ignore_errors=True)
        fresh_venv(venv)
        try:
            install(python, str(client_wheel), str(server_wheel))
        except BaseException:
            shutil.rmtree(venv, ignore_errors=True)
            raise
    else:
        install(python, "--no-deps", "--force-reinstall", str(client_wheel), str(server_wheel))
    return python


@pytest.mark.slow
@pytest.mark.packaging
def test_the_installed_server_wheel_finds_its_models_and_serves(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    server_wheel = build_wheel(REPO, wheels)
    client_wheel = build_wheel(CLIENT_PROJECT, wheels)
    python = _environment(client_wheel, server_wheel)
    pip("--python", str(python), "check")
    packaged = site_packages(python) / "idverify" / "models"
    assert (packaged / "manifest.toml").exists() and list(packaged.glob("*.onnx"))
    assert not (site_packages(python) / "idverify" / "__editable__").exists()

    run_dir = tmp_path / "elsewhere"  # not the repository: nothing can be found through a relative models/ path
    run_dir.mkdir()
    grpc_address, admin_address = f"127.0.0.1:{_free_port()}", f"127.0.0.1:{_free_port()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDVERIFY_")} | {
        "IDVERIFY_DATA_DIR": str(run_dir / "var"), "IDVERIFY_GRPC_ADDRESS": grpc_address,
        "IDVERIFY_ADMIN_ADDRESS": admin_address, "IDVERIFY_DOCUMENTS": "off", "IDVERIFY_WORKERS": "1",
        "IDVERIFY_LOG_FORMAT": "json"}
    idverify = python.parent / "idverify"
    log = (tmp_path / "server.log").open("wb")
    process = subprocess.Popen([str(idverify), "serve", "--grace", "2"], cwd=run_dir, env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    try:
        deadline, status = time.monotonic() + 120, None
        while time.monotonic() < deadline and process.poll() is None:
            status = subprocess.run([str(idverify), "client", "--server", grpc_address, "health"], cwd=run_dir,
                                    env=env, capture_output=True, text=True, timeout=60)
            if status.returncode == 0:
                break
            time.sleep(0.5)
        text = (tmp_path / "server.log").read_text()
        assert status is not None and status.stdout.strip() == "SERVING", text[-3000:]
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(60)
        log.close()
    assert process.returncode == 0
    text = (tmp_path / "server.log").read_text()
    assert "no face models" not in text and "model_manifest_invalid" not in text
    # Face on (the default) refuses to start without its models; PAD loads from the same models folder's pad/.
    assert '"passive_pad_loaded"' in text, text[-3000:]
