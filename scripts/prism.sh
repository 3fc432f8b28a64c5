#!/usr/bin/env bash
# Stoplight Prism, a mock of Twilio that validates every request against Twilio's own OpenAPI file.
# Used by the SMS adapter contract tests (tests/adapters/sms/); nothing here is needed in production.
#
#   scripts/prism.sh install        install Prism into the cache (skipped when already there); prints the binary
#   scripts/prism.sh bin            print the binary's path (exit 1 when not installed)
#   scripts/prism.sh mock [PORT]    install if needed, then run the mock on 127.0.0.1:PORT (default 4010)
#
# Environment: PRISM_DIR (cache, default <repo>/.cache/prism, ignored by git),
#              TWILIO_OAI_SPEC (default $IDVERIFY_SHARED_DATA or <repo>/../shared/data, + twilio-oai/twilio_api_v2010.json).
set -euo pipefail

PRISM_VERSION="5.14.2"   # later versions need a newer Node than the 20.x these machines have
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
prism_dir="${PRISM_DIR:-$repo_root/.cache/prism}"
prism_bin="$prism_dir/node_modules/.bin/prism"
shared_root="${IDVERIFY_SHARED_DATA:-$repo_root/../shared/data}"
spec="${TWILIO_OAI_SPEC:-$shared_root/twilio-oai/twilio_api_v2010.json}"

installed_version() {
  local pkg="$prism_dir/node_modules/@stoplight/prism-cli/package.json"
  [[ -f "$pkg" ]] && sed -n 's/^[[:space:]]*"version":[[:space:]]*"\([^"]*\)".*/\1/p' "$pkg" | head -n1
}

install() {
  if [[ -x "$prism_bin" && "$(installed_version)" == "$PRISM_VERSION" ]]; then
    echo "$prism_bin"
    return 0
  fi
  command -v npm >/dev/null || { echo "prism.sh: npm not found (install Node.js 18 or 20)" >&2; exit 1; }
  mkdir -p "$prism_dir"
  npm install --prefix "$prism_dir" --no-audit --no-fund --loglevel=error "@stoplight/prism-cli@$PRISM_VERSION" >&2
  echo "$prism_bin"
}

case "${1:-}" in
  install)
    install
    ;;
  bin)
    [[ -x "$prism_bin" ]] || { echo "prism.sh: not installed; run scripts/prism.sh install" >&2; exit 1; }
    echo "$prism_bin"
    ;;
  mock)
    port="${2:-4010}"
    [[ -f "$spec" ]] || { echo "prism.sh: Twilio spec not found at $spec (set TWILIO_OAI_SPEC)" >&2; exit 1; }
    install >/dev/null
    exec "$prism_bin" mock "$spec" -h 127.0.0.1 -p "$port"
    ;;
  *)
    echo "usage: $0 install | bin | mock [PORT]" >&2
    exit 2
    ;;
esac
