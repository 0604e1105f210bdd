#!/usr/bin/env bash
# Installs what Clowder Metrics needs on a fresh Debian 12 machine of this kind:
# the C libraries the Swift targets link, the servers the tests start, the
# peers the benchmarks compare against, and a Python venv for test helpers.
# Idempotent: re-running it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  libcurl4-openssl-dev libpcre2-dev librabbitmq-dev libsqlite3-dev zlib1g-dev pkg-config
  nginx-light rabbitmq-server influxdb postgresql
  python3-venv python3-pika iproute2 libcap2-bin procps systemd util-linux openssl curl bc
  goaccess mtail prometheus-blackbox-exporter hyperfine time
  python3-prometheus-client python3-yaml
  chromium
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian starts some services on install where it can; the tests start their own.
fi

PYPI=(http-message-signatures==3.0.0 schemathesis==4.32.5 requests)
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
if ! .venv/bin/python -c "import http_message_signatures" 2>/dev/null; then
  .venv/bin/pip install -q "${PYPI[@]}"
fi
# Swagger UI's dist files for the ingest's /docs (CLOWDER_INGEST_SWAGGER_UI_DIR=<venv site-packages>/swagger_ui/static;
# swagger-ui-py 25.7.1 ships Swagger UI 5.24.2). Only the static files are used: no dependencies.
if ! ls .venv/lib/python3*/site-packages/swagger_ui/static/swagger-ui-bundle.js >/dev/null 2>&1; then
  .venv/bin/pip install -q --no-deps swagger-ui-py==25.7.1
fi
