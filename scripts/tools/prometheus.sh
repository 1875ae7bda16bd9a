#!/usr/bin/env bash
# Installs Prometheus and promtool (Debian's `prometheus` package) when missing. The tests run
# the binary themselves (a temp config and data dir, a free port) to scrape a fleet, and
# promtool to check deploy/prometheus/; the package's own service is not used, so it is
# stopped and disabled where systemd runs it. Quiet when both are already installed.
set -euo pipefail

if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then
  exit 0
fi

echo "installing prometheus (Debian package) for the tests" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus >/dev/null \
  || { $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus >/dev/null; }
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  $sudo systemctl disable --now prometheus >/dev/null 2>&1 || true
fi
command -v prometheus >/dev/null && command -v promtool >/dev/null
