#!/usr/bin/env bash
# playwright-core (the browser driver only, no bundled browsers) into target/tools/playwright,
# for the status-page browser test (api/tests/browser/status_page.mjs). It drives Debian's
# Chromium (scripts/tools/chromium.sh). Needs node and npm. Idempotent and quiet when present.
set -euo pipefail
cd "$(dirname "$0")/../.."

# The version the test script is written against.
VERSION=1.57.0
DIR=target/tools/playwright

if [ -f "$DIR/node_modules/playwright-core/package.json" ] &&
  grep -q "\"version\": \"$VERSION\"" "$DIR/node_modules/playwright-core/package.json"; then
  exit 0
fi

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "installing nodejs and npm (Debian) for playwright-core" >&2
  apt-get update -q && apt-get install -y -q nodejs npm
fi

echo "installing playwright-core $VERSION into $DIR" >&2
mkdir -p "$DIR"
[ -f "$DIR/package.json" ] || echo '{"name": "muze-test-tools", "private": true}' >"$DIR/package.json"
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --prefix "$DIR" --no-audit --no-fund --loglevel=error \
  "playwright-core@$VERSION" >/dev/null
