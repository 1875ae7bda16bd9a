#!/usr/bin/env bash
# Installs, when missing, what scripts/check-deploy needs: kubernetes-validate and PyYAML
# (pinned, scripts/tools/deploy-validators.txt) into target/tools/deploy-validators, and
# docker-compose (Debian's package, without the Docker engine it recommends) for parsing
# deploy/compose.yaml the way Compose does, no engine needed.
set -euo pipefail
cd "$(dirname "$0")/../.."

venv=target/tools/deploy-validators
stamp="$venv/.installed-$(sha256sum scripts/tools/deploy-validators.txt | cut -c1-12)"
if [ ! -e "$stamp" ]; then
  echo "--- installing kubernetes-validate and PyYAML into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r scripts/tools/deploy-validators.txt
  touch "$stamp"
fi

if ! command -v docker-compose >/dev/null; then
  echo "--- installing docker-compose (Debian)"
  apt-get update -q && apt-get install -y -q --no-install-recommends docker-compose
fi
