#!/usr/bin/env bash
# Debian's Chromium, which the status-page test drives headless (api/tests/status_page.rs).
# Idempotent and quiet when /usr/bin/chromium is already there.
set -euo pipefail

[ -x /usr/bin/chromium ] && exit 0

echo "installing chromium (Debian package) for the status-page browser test" >&2
sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
sudo_if_needed apt-get update -qq
sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
[ -x /usr/bin/chromium ] || { echo "chromium.sh: /usr/bin/chromium still missing after apt-get install" >&2; exit 1; }
