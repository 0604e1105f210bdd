#!/usr/bin/env bash
# Ingest throughput with publisher confirms, beside a bare librabbitmq publisher
# with confirms (the ceiling), in the same run, against the RabbitMQ at
# 127.0.0.1:5672 (started by .ci/run, or `rabbitmq-server -detached`).
#
#   Benchmarks/ingest/run.sh [CLIENTS=4] [BATCHES_PER_CLIENT=60] [POINTS=500]
#   CONFIG=debug Benchmarks/ingest/run.sh   # use the debug build (default: release)
#
# Both publish persistent JSON messages to a durable fanout exchange with one
# durable queue bound (x-max-length 200000, so the disk stays bounded).
# Prints a Markdown table: points/s, p50/p99 request latency, % of the bare publisher.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
CLIENTS=${1:-4}
BATCHES=${2:-60}
POINTS=${3:-500}
WORK=$(mktemp -d /tmp/clowder-ingest-bench.XXXXXX)
trap 'kill $INGEST_PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
INGEST_PID=

(echo > /dev/tcp/127.0.0.1/5672) 2>/dev/null || { echo "RabbitMQ is not listening on 127.0.0.1:5672" >&2; exit 1; }
[ -x .venv/bin/python ] || { echo ".venv missing: run scripts/install-deps.sh" >&2; exit 1; }

CONFIG=${CONFIG:-release}
echo "building clowder-ingest ($CONFIG)…" >&2
swift build -c "$CONFIG" --product clowder-ingest >&2
BIN=$(swift build -c "$CONFIG" --show-bin-path)/clowder-ingest
cc -O2 -o "$WORK/bare_publisher" Benchmarks/ingest/bare_publisher.c -lrabbitmq

SUFFIX=$$
EX_BARE=bench.bare.$SUFFIX
EX_INGEST=bench.ingest.$SUFFIX
Q_BARE=bench.bare.q.$SUFFIX
Q_INGEST=bench.ingest.q.$SUFFIX
"$WORK/bare_publisher" declare 127.0.0.1 5672 "$EX_BARE" "$Q_BARE"
"$WORK/bare_publisher" declare 127.0.0.1 5672 "$EX_INGEST" "$Q_INGEST"
trap 'kill $INGEST_PID 2>/dev/null || true; "$WORK/bare_publisher" delete 127.0.0.1 5672 "$EX_BARE" "$Q_BARE" || true;
      "$WORK/bare_publisher" delete 127.0.0.1 5672 "$EX_INGEST" "$Q_INGEST" || true; rm -rf "$WORK"' EXIT
TOTAL=$((CLIENTS * BATCHES * POINTS))
MSG_BYTES=330   # compact JSON of one nginx_access point message, as the ingest publishes it

BARE=$("$WORK/bare_publisher" 127.0.0.1 5672 "$EX_BARE" "$TOTAL" "$MSG_BYTES" 2000)
BARE_RATE=$(sed -n 's/.*msgs_per_s=\([0-9]*\).*/\1/p' <<<"$BARE")

SECRET_B64=$(head -c 32 /dev/urandom | base64 -w0)
PORT=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$WORK/keys" <<KEYS
bench batches,events hmac:base64:$SECRET_B64
KEYS
cat > "$WORK/ingest.env" <<ENV
CLOWDER_INGEST_HOST=127.0.0.1
CLOWDER_INGEST_PORT=$PORT
CLOWDER_INGEST_KEYS_FILE=$WORK/keys
CLOWDER_INGEST_BROKER_URL=amqp://guest:guest@127.0.0.1:5672/
CLOWDER_INGEST_EXCHANGE=$EX_INGEST
CLOWDER_INGEST_DEDUPE_PATH=$WORK/dedupe.db
CLOWDER_INGEST_STATUS_PATH=$WORK/ingest-status.db
CLOWDER_INGEST_RATE_LIMIT=0
ENV
"$BIN" check --env-file "$WORK/ingest.env" >&2
LOG_LEVEL=warning "$BIN" --env-file "$WORK/ingest.env" >"$WORK/ingest.log" 2>&1 &
INGEST_PID=$!
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
INGEST=$(.venv/bin/python Benchmarks/ingest/loadgen.py 127.0.0.1 "$PORT" "$CLIENTS" "$BATCHES" "$POINTS" bench "$SECRET_B64")
INGEST_RATE=$(sed -n 's/.*points_per_s=\([0-9]*\).*/\1/p' <<<"$INGEST")
P50=$(sed -n 's/.*p50_ms=\([0-9.]*\).*/\1/p' <<<"$INGEST")
P99=$(sed -n 's/.*p99_ms=\([0-9.]*\).*/\1/p' <<<"$INGEST")

echo
echo "bare:   $BARE"
echo "ingest: $INGEST"
echo
echo "| publisher | messages | points/s | p50 ms | p99 ms | % of bare |"
echo "|---|---|---|---|---|---|"
echo "| bare librabbitmq, confirms, window 2000 | $TOTAL | $BARE_RATE | – | – | 100 |"
echo "| clowder-ingest ($CONFIG build), $CLIENTS signed clients × $POINTS-point gzip batches | $TOTAL | $INGEST_RATE | $P50 | $P99 | $((100 * INGEST_RATE / BARE_RATE)) |"
