#!/usr/bin/env bash
# Build the MiniFASNet PAD graphs (ONNX) from the published weights into the model cache.
#
#   scripts/build-pad.sh [WEIGHTS_DIR] [OUT_DIR]
#
# WEIGHTS_DIR defaults to $IDVERIFY_SHARED_DATA/pad/silent-face (../shared/data/pad/silent-face); OUT_DIR to
# $IDVERIFY_MODEL_CACHE/pad (~/.cache/idverify/models/pad). torch is needed here only, never by the service:
# it is installed into the venv (pinned) when missing. CPU wheels are enough.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${VENV:-$repo/.venv}"
python="$venv/bin/python"
torch_pin="torch==2.13.0"

shared="${IDVERIFY_SHARED_DATA:-$repo/../shared/data}"
weights="${1:-$shared/pad/silent-face}"
out_args=()
if [[ $# -ge 2 ]]; then out_args=(--out "$2"); fi

if ! "$python" -c 'import torch, sys; sys.exit(0 if torch.__version__.split("+")[0] == "2.13.0" else 1)' 2>/dev/null; then
    echo "installing $torch_pin into $venv (build-time only)" >&2
    "$venv/bin/pip" install --quiet "$torch_pin"
fi

cd "$repo"
exec "$python" -m idverify.ml.pad.build --weights-dir "$weights" "${out_args[@]}"
