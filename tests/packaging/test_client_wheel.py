"""`idverify-client` is its own distribution: its wheel installs into an empty environment with joserfc and
cryptography only (well under 40 MB), `pip check` is clean, and with the `grpc` extra it verifies and redeems a
token from a running server, without a line of the server installed."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import Server
from tests.e2e.flow import issue_token
from tests.packaging.venvs import CLIENT_PROJECT, build_wheel, fresh_venv, install, pip, site_packages, size_bytes

MAX_INSTALLED_MB = 40
ACCOUNT = "6222020000000001"

LOAN_SERVICE = """
import json, sys
from idverify_client import ExpectedBinding, InvalidToken, TokenVerifier
from idverify_client.errors import TokenBindingMismatch
from idverify_client.rpc import LoanServiceClient

jwks_url, target, api_key, token = sys.argv[1:5]
verifier = TokenVerifier(jwks_url, "idverify", "loan-service")
verified = verifier.verify(token, expected=ExpectedBinding("L-7", "700.00", "CNY", "6222 0200 0000 0001"))
try:
    verifier.verify(token, expected=ExpectedBinding("L-7", "701.00", "CNY", "6222020000000001"))
    mismatch = "accepted"
except InvalidToken as refused:
    mismatch = str(refused)
with LoanServiceClient(target, api_key=api_key) as service:
    redeemed = service.redeem(token, loan_application_id="L-7", amount="700.00", currency="CNY",
                              payout_account="6222020000000001")
    again = service.redeem(token, loan_application_id="L-7", amount="700.00", currency="CNY",
                           payout_account="6222020000000001")
    try:
        service.redeem(token, loan_application_id="L-7", amount="7000.00", currency="CNY",
                       payout_account="6222020000000001")
        wrong = "redeemed for another amount"
    except TokenBindingMismatch as refused:
        wrong = refused.reason
print(json.dumps({"jti": verified.jti, "token_id": redeemed.token_id, "mismatch": mismatch, "wrong": wrong,
                  "same_redemption": again.redemption_id == redeemed.redemption_id != "",
                  "server_installed": any(m in sys.modules for m in ("idverify", "sqlalchemy", "onnxruntime"))}))
"""


@pytest.mark.slow
@pytest.mark.packaging
def test_the_client_wheel_installs_alone_and_verifies_and_redeems_a_real_token(tmp_path: Path) -> None:
    wheel = build_wheel(CLIENT_PROJECT, tmp_path / "wheels")
    python = fresh_venv(tmp_path / "venv")
    install(python, str(wheel))
    installed_mb = size_bytes(site_packages(python)) / 1e6
    print(f"idverify-client installed with its dependencies: {installed_mb:.1f} MB")
    assert installed_mb < MAX_INSTALLED_MB
    listed = json.loads(pip("--python", str(python), "list", "--format", "json").stdout)
    names = {item["name"].lower() for item in listed}
    assert names == {"idverify-client", "joserfc", "cryptography", "cffi", "pycparser"}
    no_grpc = subprocess.run([str(python), "-c", "import idverify_client.rpc"], capture_output=True, text=True,
                             cwd=tmp_path)
    assert no_grpc.returncode == 1 and "No module named 'grpc'" in no_grpc.stderr

    install(python, f"{wheel}[grpc]")
    pip("--python", str(python), "check")
    assert subprocess.run([str(python), "-c", "import idverify"], capture_output=True, cwd=tmp_path).returncode == 1

    server = Server(tmp_path / "server", env={"IDVERIFY_FACE": "off", "IDVERIFY_DOCUMENTS": "off"})
    server.data_dir.mkdir()
    try:
        server.start()
        token = issue_token(server, loan="L-7", amount="700.00", account=ACCOUNT)
        key = (server.data_dir / "dev-api-keys.toml").read_text().split('loan_service = "')[1].split('"')[0]
        done = subprocess.run([str(python), "-c", LOAN_SERVICE,
                               f"http://127.0.0.1:{server.admin_port}/.well-known/jwks.json", server.address, key,
                               token], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    finally:
        if server.process is not None and server.process.poll() is None:
            server.terminate()
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["token_id"] == answer["jti"]
    assert answer["same_redemption"] is True  # asking again returns this caller's own redemption
    assert answer["wrong"] == "token_binding_mismatch"
    assert answer["mismatch"].startswith("token_binding_mismatch (binding_amount)")
    assert answer["server_installed"] is False
