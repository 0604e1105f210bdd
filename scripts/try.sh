#!/usr/bin/env bash
# Installs what is missing, builds the agent (release) and runs it on real
# NGINX logs: the public samples in Tests/Fixtures (see SOURCES.md there) and a
# Clowder-shaped log written by ../shared/tools/gen-clowder-log when present.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH
./scripts/install-deps.sh
swift build -c release --product clowder-agent 2>&1 | tail -1
AGENT="$(swift build -c release --show-bin-path)/clowder-agent"
for f in Tests/Fixtures/beats_nginx_access.log Tests/Fixtures/crowdsec_nginx_http_malformed.log; do
  echo "== clowder-agent parse $f"
  "$AGENT" parse "$f"
done
echo "== clowder-agent parse Tests/Fixtures/beats_nginx_ingress_controller_test.log (ingress-nginx log_format)"
"$AGENT" parse --log-format '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_length $request_time [$proxy_upstream_name] [$proxy_alternative_upstream_name] $upstream_addr $upstream_response_length $upstream_response_time $upstream_status $req_id' \
  Tests/Fixtures/beats_nginx_ingress_controller_test.log
GEN=../shared/tools/gen-clowder-log
if [ -x "$GEN" ]; then
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  python3 "$GEN" --lines 20000 --seed 7 --format clowder --out "$tmp/access.log" --truth "$tmp/truth.json"
  echo "== clowder-agent parse (20,000 Clowder-shaped lines, format clowder_metrics)"
  "$AGENT" parse --log-format "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["log_format"])' "$tmp/truth.json")" "$tmp/access.log"
fi
