"""The verifier library stays light: a loan service imports it with joserfc and cryptography only."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HEAVY = ("grpc", "numpy", "cv2", "onnxruntime", "sqlalchemy", "twilio", "structlog", "idverify.tokens",
         "idverify.storage", "idverify.transport", "idverify.app")


def test_importing_the_client_pulls_in_nothing_heavy() -> None:
    code = (
        "import sys, idverify.client, idverify.client.verifier, idverify.client.jwks\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules or any(k.startswith(m + '.') for k in sys.modules)))"
    )
    root = Path(__file__).resolve().parents[3]
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True,
                            timeout=60)
    assert result.stdout.strip() == ""
    # The probe itself works: the same check sees a module we do import.
    probe = subprocess.run([sys.executable, "-c", "import sys, idverify.client; print('joserfc' in sys.modules)"],
                           cwd=root, capture_output=True, text=True, check=True, timeout=60)
    assert probe.stdout.strip() == "True"


def test_the_assurance_module_is_pure() -> None:
    code = "import sys, idverify.tokens.assurance; print([m for m in ('joserfc', 'cryptography') if m in sys.modules])"
    root = Path(__file__).resolve().parents[3]
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True,
                            timeout=60)
    assert result.stdout.strip() == "[]"
