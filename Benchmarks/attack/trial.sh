#!/usr/bin/env bash
# Attack trial (issue 11): runs clowder-ingest and clowder-sink (InfluxDB, PostgreSQL and SQLite sinks) from this
# checkout's build against the shared RabbitMQ, InfluxDB and PostgreSQL on loopback, then sends every probe of
# trial.py as a hostile client would and queries each store for what reached it. See README.md beside it.
#
#   Benchmarks/attack/trial.sh            # build first: swift build (the debug binaries in .build/debug)
#   BIN=.build/release PORT=23080 TAG=w11b Benchmarks/attack/trial.sh
#
# Uses its own exchange (attack.<TAG>), queues, InfluxDB database (attack_<TAG>), PostgreSQL database
# (clowder_<TAG>, tables prefixed attack_) and a temporary folder; deletes them at the end (KEEP=1 keeps them).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${BIN:-$ROOT/.build/debug}
PORT=${PORT:-23080}
TAG=${TAG:-w11b}
AMQP=${AMQP:-amqp://guest:guest@127.0.0.1:5672/}
INFLUX=${INFLUX:-http://127.0.0.1:8086}
PG_DB=${PG_DB:-clowder_$TAG}
EXCHANGE=attack.$TAG
INFLUX_DB=attack_$TAG
WORK=$(mktemp -d /tmp/clowder-attack-$TAG.XXXXXX)
export WORK PORT TAG INFLUX INFLUX_DB PG_DB EXCHANGE

psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'" | grep -q 1 \
  || psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE $PG_DB" >/dev/null
psql -h 127.0.0.1 -U postgres -d "$PG_DB" -c "DROP TABLE IF EXISTS attack_points, attack_events" >/dev/null 2>&1
curl -s -XPOST "$INFLUX/query" --data-urlencode "q=DROP DATABASE $INFLUX_DB" >/dev/null

# Keys: fresh secrets, one unbound agent key, one bound to web-b / web-b.example.org / eu-west, Clowder's X-API-Key.
openssl rand -hex 32 | tr -d '\n' > "$WORK/a.secret"
openssl rand -hex 32 | tr -d '\n' > "$WORK/b.secret"
openssl rand -hex 24 | tr -d '\n' > "$WORK/clowder.apikey"
cat > "$WORK/keys" <<KEYS
agent-a  batches,events  hmac:hex:$(cat "$WORK/a.secret")
agent-b  batches,events  hmac:hex:$(cat "$WORK/b.secret")  agents=web-b hosts=web-b.example.org regions=eu-west
clowder  events          sha256:$(printf %s "$(cat "$WORK/clowder.apikey")" | sha256sum | cut -c1-64)
KEYS
chmod 600 "$WORK/keys"

SWAGGER=$(ls -d "$ROOT"/.venv/lib/python3*/site-packages/swagger_ui/static 2>/dev/null | head -1 || true)
cat > "$WORK/ingest.env" <<ENV
CLOWDER_INGEST_HOST=127.0.0.1
CLOWDER_INGEST_PORT=$PORT
CLOWDER_INGEST_KEYS_FILE=$WORK/keys
CLOWDER_INGEST_BROKER_URL=$AMQP
CLOWDER_INGEST_EXCHANGE=$EXCHANGE
CLOWDER_INGEST_DEDUPE_PATH=$WORK/dedupe.db
CLOWDER_INGEST_JOURNAL_PATH=$WORK/journal.db
CLOWDER_INGEST_STATUS_PATH=$WORK/status.db
CLOWDER_INGEST_STATUS_QUEUE=$EXCHANGE.status
CLOWDER_INGEST_IDLE_TIMEOUT=5
CLOWDER_INGEST_HEADER_TIMEOUT=3
CLOWDER_INGEST_BODY_TIMEOUT=5
CLOWDER_INGEST_RATE_LIMIT=0
CLOWDER_INGEST_AUTH_FAILURES_PER_MINUTE=30
CLOWDER_INGEST_TRUSTED_PROXIES=127.0.0.1
${SWAGGER:+CLOWDER_INGEST_SWAGGER_UI_DIR=$SWAGGER}
ENV
cat > "$WORK/sink.env" <<ENV
CLOWDER_SINK_AMQP_URL=$AMQP
CLOWDER_SINK_EXCHANGE=$EXCHANGE
CLOWDER_SINK_DLX_EXCHANGE=$EXCHANGE.dlx
CLOWDER_SINK_DLX_QUEUE=$EXCHANGE.dlx
CLOWDER_SINK_SINKS=influx,postgres,sqlite
CLOWDER_SINK_BATCH_SIZE=200
CLOWDER_SINK_RETRY_MAX_DELAY=2
CLOWDER_SINK_MAX_DELIVERIES=3
CLOWDER_SINK_INFLUX_URL=$INFLUX
CLOWDER_SINK_INFLUX_DATABASE=$INFLUX_DB
CLOWDER_SINK_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/$PG_DB
CLOWDER_SINK_POSTGRES_TABLE_PREFIX=attack_
CLOWDER_SINK_POSTGRES_MAX_CONNECTIONS=2
CLOWDER_SINK_SQLITE_PATH=$WORK/sink.db
ENV

PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ -z "${KEEP:-}" ]; then
    python3 "$ROOT/Benchmarks/attack/amqp_cleanup.py" "$EXCHANGE" 2>/dev/null || true
    curl -s -XPOST "$INFLUX/query" --data-urlencode "q=DROP DATABASE $INFLUX_DB" >/dev/null || true
    psql -h 127.0.0.1 -U postgres -d "$PG_DB" -c "DROP TABLE IF EXISTS attack_points, attack_events" >/dev/null 2>&1 || true
    rm -rf "$WORK"
  else
    echo "kept: $WORK (logs ingest.log, sink.log), exchange $EXCHANGE, InfluxDB $INFLUX_DB, PostgreSQL $PG_DB"
  fi
}
trap cleanup EXIT

"$BIN/clowder-ingest" check --env-file "$WORK/ingest.env" > "$WORK/ingest-check.txt" 2>&1 || { cat "$WORK/ingest-check.txt"; exit 1; }
"$BIN/clowder-sink" run --env-file "$WORK/sink.env" > "$WORK/sink.log" 2>&1 &
PIDS+=($!)
"$BIN/clowder-ingest" serve --env-file "$WORK/ingest.env" > "$WORK/ingest.log" 2>&1 &
INGEST_PID=$!
PIDS+=($INGEST_PID)
export INGEST_PID SINK_PID=${PIDS[0]}
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
sleep 2   # the sinks declare their queues
python3 "$ROOT/Benchmarks/attack/trial.py" | tee "$WORK/trial.txt"
cp "$WORK/trial.txt" "${OUT:-/tmp/clowder-attack-$TAG.txt}"
echo "--- ingest log (last 20 lines)"; tail -20 "$WORK/ingest.log"
echo "--- sink log (warnings)"; grep -iE "warn|error|dead" "$WORK/sink.log" | tail -30 || true
