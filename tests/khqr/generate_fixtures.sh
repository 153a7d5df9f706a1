#!/bin/sh
# Regenerate tests/khqr/fixtures/sdk_cases.json from the NBC KHQR SDK.
# Needs node (20+) and the npm registry; the tests read the committed JSON only.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
version=${BAKONG_KHQR_VERSION:-1.0.20}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm init -y >/dev/null && npm install --silent --no-audit --no-fund "bakong-khqr@$version" >/dev/null)
SDK_DIR="$tmp" node "$here/generate_fixtures.js"
