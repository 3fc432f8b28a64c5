"""torch is a build-time dependency only: the service and the CLI's command registration never import it."""

from __future__ import annotations

import subprocess
import sys


def test_adapter_and_build_command_registration_do_not_import_torch() -> None:
    code = ("import argparse, sys\n"
            "import idverify.ml.pad.onnx_pad\n"
            "from idverify.ml.pad.build import register\n"
            "register(argparse.ArgumentParser().add_subparsers())\n"
            "sys.exit(1 if 'torch' in sys.modules else 0)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
