#!/usr/bin/env bash
# Generate the Go stubs of proto/idverify/v1 into gen/go/idverify/v1 (or into $1/idverify/v1), with Debian's
# protoc, protoc-gen-go and protoc-gen-go-grpc (scripts/test-deps.sh installs them). The go_package option of every
# .proto names this layout: import path idverify/gen/go/idverify/v1, Go package idverifyv1.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-gen/go}"
mkdir -p "$out"
protoc -Iproto -I/usr/include \
  --go_out="$out" --go_opt=paths=source_relative \
  --go-grpc_out="$out" --go-grpc_opt=paths=source_relative \
  proto/idverify/v1/*.proto
