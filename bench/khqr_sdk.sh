#!/bin/sh
# Run bench/khqr_sdk.js with the NBC SDK installed into a temporary folder.
# Usage: bench/khqr_sdk.sh INPUTS.json [--serve]   (bench/khqr.py calls it)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm init -y >/dev/null && npm install --silent --no-audit --no-fund "bakong-khqr@${BAKONG_KHQR_VERSION:-1.0.20}" >/dev/null)
SDK_DIR="$tmp" node "$here/khqr_sdk.js" "$@"
