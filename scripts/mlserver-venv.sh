#!/usr/bin/env bash
# A separate virtual environment with MLServer for the KServe V2 adapter tests (tests/adapters/kserve). It is kept
# apart from .venv because MLServer pins its own web and protobuf stack. Idempotent: does nothing when up to date.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.cache/mlserver-venv
stamp="$venv/.installed-$(sha256sum scripts/mlserver-requirements.txt | cut -c1-16)"
if [ -f "$stamp" ]; then
  echo "mlserver venv up to date"
  exit 0
fi
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r scripts/mlserver-requirements.txt
touch "$stamp"
"$venv/bin/mlserver" --version
