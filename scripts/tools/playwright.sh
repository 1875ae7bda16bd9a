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

command -v node >/dev/null || { echo "playwright.sh: node is missing (apt-get install -y nodejs npm)" >&2; exit 1; }
command -v npm >/dev/null || { echo "playwright.sh: npm is missing (apt-get install -y npm)" >&2; exit 1; }

echo "installing playwright-core $VERSION into $DIR" >&2
mkdir -p "$DIR"
[ -f "$DIR/package.json" ] || echo '{"name": "muze-test-tools", "private": true}' >"$DIR/package.json"
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --prefix "$DIR" --no-audit --no-fund --loglevel=error \
  "playwright-core@$VERSION" >/dev/null
