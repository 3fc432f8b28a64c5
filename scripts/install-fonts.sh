#!/usr/bin/env bash
# Fonts for the synthetic document generator (tests/docgen) and bench/bench_ocr.py.
#   fonts-noto-cjk  Noto Sans/Serif CJK (SIL OFL 1.1): Chinese text on the synthetic ID cards.
#   fonts-ocr-b     OCR-B (free, Debian main): the machine-readable zone of passport pages.
# Idempotent: does nothing (and touches no network) when both are already installed.
# Needs root (CI and developer machines run as root); uses Debian's apt only.
set -euo pipefail

packages=(fonts-noto-cjk fonts-ocr-b)
missing=()
for pkg in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    echo "install-fonts: all present (${packages[*]})"
    exit 0
fi

echo "install-fonts: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends "${missing[@]}"; then
    apt-get update -qq
    apt-get install -y --no-install-recommends "${missing[@]}"
fi
