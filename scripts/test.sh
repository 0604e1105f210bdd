#!/usr/bin/env bash
# Installs what is missing, starts the servers the tests need (RabbitMQ,
# InfluxDB, PostgreSQL; NGINX is started by the tests), builds and runs every
# test. This is the README's test command and what .ci/run calls.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH
./scripts/install-deps.sh
./scripts/start-servers.sh
swift build --build-tests 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\] (Compiling|Emitting|Wrapping|Write)' || { echo "test: build failed" >&2; exit 1; }
if [ $# -gt 0 ]; then exec swift test --skip-build "$@"; fi
# Most suites run in parallel. These run one at a time afterwards: IngestOutageTests
# stops the shared RabbitMQ (rabbitmqctl stop_app/start_app); the others time
# requests (rate limit, schemathesis, an NGINX start, latency through delay-link's
# user-space forwarder to ±1.3 ms; regional verdicts whose agent_silent must arrive
# within a stated second over two delay-links) and fail when both cores are busy with the rest
# of the suite. ScaleOutTests starts a 3-node RabbitMQ cluster, two ingests and two sinks of its own
# (deploy/scale/run.sh, fixed ports 25xxx) and keeps both cores busy for about a minute.
ALONE=(IngestOutageTests IngestRefusalTests SchemathesisTests NginxConfigTests DelayLinkTests RegionalVerdictTests ScaleOutTests)
skips=()
for s in "${ALONE[@]}"; do skips+=(--skip "$s"); done
swift test --skip-build "${skips[@]}"
for s in "${ALONE[@]}"; do swift test --skip-build --filter "$s"; done
