"""Generate the Python gRPC code and .pyi stubs from proto/ into idverify/api/v1/, the same code into the
idverify-client distribution (clients/python/src/idverify_client/api/v1/, imports rewritten to that package), and,
where Debian's protoc-gen-go and protoc-gen-go-grpc are installed, the Go stubs in gen/go (scripts/gen_go.sh).

Usage: python scripts/gen_proto.py [--check]. With --check nothing is written; the exit status is 1 when either
committed copy differs from what the .proto files produce (CI runs this).
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import subprocess
import sys
import tempfile
from importlib import resources
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parents[1]
PROTO_ROOT = ROOT / "proto"
OUT_PACKAGE = ROOT / "idverify" / "api"
#: (package directory, import prefix) of each copy of the generated code.
TARGETS = (
    (OUT_PACKAGE, "idverify.api.v1"),
    (ROOT / "clients" / "python" / "src" / "idverify_client" / "api", "idverify_client.api.v1"),
)


def generate(into: Path, import_prefix: str) -> None:
    protos = sorted(str(p.relative_to(PROTO_ROOT)) for p in (PROTO_ROOT / "idverify" / "v1").glob("*.proto"))
    well_known = str(resources.files("grpc_tools") / "_proto")
    args = [
        "protoc",
        f"-I{PROTO_ROOT}",
        f"-I{well_known}",
        f"--python_out={into}",
        f"--pyi_out={into}",
        f"--grpc_python_out={into}",
        *protos,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    # protoc writes idverify/v1/*.py; the package keeps them under idverify/api/v1 and imports must follow.
    gen_dir = into / "idverify" / "v1"
    for path in gen_dir.glob("*.py*"):
        text = path.read_text()
        text = text.replace("from idverify.v1 import", f"from {import_prefix} import")
        path.write_text(text)
    note = '"""Generated from proto/idverify/v1 by scripts/gen_proto.py; do not edit."""\n'
    (gen_dir / "__init__.py").write_text(note)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the committed code is out of date")
    opts = parser.parse_args()
    status = 0
    for package, import_prefix in TARGETS:
        status |= _one_copy(package, import_prefix, check=opts.check)
    return status | _go_stubs(check=opts.check)


GO_TOOLS = ("protoc", "protoc-gen-go", "protoc-gen-go-grpc")
GO_OUT = ROOT / "gen" / "go"


def _go_stubs(*, check: bool) -> int:
    """The Go stubs in gen/go (scripts/gen_go.sh, Debian's protoc plugins), when those tools are installed."""
    missing = [tool for tool in GO_TOOLS if shutil.which(tool) is None]
    if missing:
        print(f"gen/go not regenerated: {', '.join(missing)} not installed (scripts/test-deps.sh installs them)")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) if check else GO_OUT
        if not check:
            shutil.rmtree(GO_OUT / "idverify", ignore_errors=True)
        subprocess.run(["bash", str(ROOT / "scripts" / "gen_go.sh"), str(out)], check=True)
        if not check:
            print("wrote gen/go/idverify/v1")
            return 0
        fresh, target = out / "idverify" / "v1", GO_OUT / "idverify" / "v1"
        names = sorted(p.name for p in fresh.iterdir())
        existing = sorted(p.name for p in target.iterdir()) if target.exists() else []
        _, mismatch, errors = filecmp.cmpfiles(fresh, target, names, shallow=False)
        if mismatch or errors or names != existing:
            print(f"gen/go is out of date: {mismatch + errors or 'file set differs'}; run python scripts/gen_proto.py",
                  file=sys.stderr)
            return 1
        print("generated code in gen/go matches proto/")
        return 0


def _one_copy(package: Path, import_prefix: str, *, check: bool) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp), import_prefix)
        fresh = Path(tmp) / "idverify" / "v1"
        target = package / "v1"
        if check:
            names = sorted(p.name for p in fresh.iterdir())
            existing = sorted(p.name for p in target.iterdir() if p.is_file()) if target.exists() else []
            _, mismatch, errors = filecmp.cmpfiles(fresh, target, names, shallow=False)
            if mismatch or errors or names != existing:
                print(f"generated code in {target.relative_to(ROOT)} is out of date: "
                      f"{mismatch + errors or 'file set differs'}; run python scripts/gen_proto.py", file=sys.stderr)
                return 1
            print(f"generated code in {target.relative_to(ROOT)} matches proto/")
            return 0
        if target.exists():
            shutil.rmtree(target)
        package.mkdir(parents=True, exist_ok=True)
        (package / "__init__.py").write_text('"""Generated gRPC code (imported only by transport and client)."""\n')
        shutil.copytree(fresh, target)
    print(f"wrote {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
