"""Generate the KServe V2 protocol code from proto_kserve/ into idverify/kserve/v2/.

Usage: python scripts/gen_kserve_proto.py [--check]. With --check nothing is written; the exit status is 1 when the
committed generated code differs from what the .proto produces (make test runs this).
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parents[1]
PROTO_ROOT = ROOT / "proto_kserve"
PROTO = "idverify/kserve/v2/grpc_predict_v2.proto"
TARGET = ROOT / "idverify" / "kserve" / "v2"
NOTE = '"""Generated from proto_kserve/ by scripts/gen_kserve_proto.py; do not edit."""\n'


def generate(into: Path) -> Path:
    args = ["protoc", f"-I{PROTO_ROOT}", f"--python_out={into}", f"--pyi_out={into}", f"--grpc_python_out={into}",
            PROTO]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    out = into / "idverify" / "kserve" / "v2"
    (out / "__init__.py").write_text(NOTE)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the committed code is out of date")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        fresh = generate(Path(tmp))
        names = sorted(p.name for p in fresh.iterdir())
        if opts.check:
            existing = sorted(p.name for p in TARGET.iterdir() if p.is_file()) if TARGET.exists() else []
            _, mismatch, errors = filecmp.cmpfiles(fresh, TARGET, names, shallow=False)
            if mismatch or errors or names != existing:
                print("KServe V2 code is out of date; run python scripts/gen_kserve_proto.py", file=sys.stderr)
                return 1
            print("KServe V2 code matches proto_kserve/")
            return 0
        if TARGET.exists():
            shutil.rmtree(TARGET)
        shutil.copytree(fresh, TARGET)
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
