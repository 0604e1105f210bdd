#!/usr/bin/env bash
# Ingest throughput with publisher confirms and persistence, four peers in one run, against the
# RabbitMQ at 127.0.0.1:5672 (started by .ci/run, or `rabbitmq-server -detached`):
#
#   1. bare librabbitmq publisher (C), one persistent 330-byte message per point: the ceiling of
#      the per-point format;
#   2. clowder-ingest with CLOWDER_INGEST_POINTS_PER_MESSAGE=1: every point its own message (the
#      path before issue 15);
#   3. clowder-ingest with CLOWDER_INGEST_POINTS_PER_MESSAGE=$PER (default 100): several points of
#      a batch in one metric_points message;
#   4. the bare publisher again, sending as many messages as 3 published, of the size 3 published
#      (read back from its queue): the ceiling of that format, in points/s = messages/s × points
#      per message.
#
#   Benchmarks/ingest/run.sh [CLIENTS=4] [BATCHES_PER_CLIENT=150] [POINTS=500]
#   CONFIG=debug Benchmarks/ingest/run.sh   # use the debug build (default: release)
#   PER=50 Benchmarks/ingest/run.sh         # points per message in run 3
#   STATUS_PAGE=false Benchmarks/ingest/run.sh   # ingests without the status-page feed
#
# Every publisher sends persistent messages to its own durable fanout exchange with one durable
# queue bound (x-max-length 200000, so the disk stays bounded), waiting for publisher confirms;
# the ingest runs as deployed (signature checks, de-duplication store, status page feed), with
# CLIENTS signed Python clients (loadgen.py) posting POINTS-point gzip batches.
# Prints the load average before and after, and a Markdown table: points/s, p50/p99 request
# latency, ratio to the bare publisher of the same format and to the per-point ingest.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
CLIENTS=${1:-4}
BATCHES=${2:-150}
POINTS=${3:-500}
PER=${PER:-100}
WORK=$(mktemp -d /tmp/clowder-ingest-bench.XXXXXX)
INGEST_PID=
SUFFIX=$$
EXCHANGES=(bench.bare.$SUFFIX bench.old.$SUFFIX bench.new.$SUFFIX bench.baremulti.$SUFFIX)
cleanup() {
  [ -n "$INGEST_PID" ] && kill "$INGEST_PID" 2>/dev/null || true
  if [ -x "$WORK/bare_publisher" ]; then
    for ex in "${EXCHANGES[@]}"; do
      "$WORK/bare_publisher" delete 127.0.0.1 5672 "$ex" "$ex.q" >/dev/null 2>&1 || true
      "$WORK/bare_publisher" delete 127.0.0.1 5672 "$ex" "$ex.status" >/dev/null 2>&1 || true
    done
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

(echo > /dev/tcp/127.0.0.1/5672) 2>/dev/null || { echo "RabbitMQ is not listening on 127.0.0.1:5672" >&2; exit 1; }
[ -x .venv/bin/python ] || { echo ".venv missing: run scripts/install-deps.sh" >&2; exit 1; }

CONFIG=${CONFIG:-release}
echo "building clowder-ingest ($CONFIG)…" >&2
swift build -c "$CONFIG" --product clowder-ingest >&2
BIN=$(swift build -c "$CONFIG" --show-bin-path)/clowder-ingest
cc -O2 -o "$WORK/bare_publisher" Benchmarks/ingest/bare_publisher.c -lrabbitmq
for ex in "${EXCHANGES[@]}"; do "$WORK/bare_publisher" declare 127.0.0.1 5672 "$ex" "$ex.q"; done

TOTAL=$((CLIENTS * BATCHES * POINTS))
MSG_BYTES=330   # compact JSON of one nginx_access point message, as the ingest publishes it with PER=1
PER_BATCH=$(((POINTS + PER - 1) / PER))
MULTI_MESSAGES=$((CLIENTS * BATCHES * PER_BATCH))
SECRET_B64=$(head -c 32 /dev/urandom | base64 -w0)
cat > "$WORK/keys" <<KEYS
bench batches,events hmac:base64:$SECRET_B64
KEYS
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# run_ingest POINTS_PER_MESSAGE EXCHANGE: one ingest, the signed load, the loadgen's line.
run_ingest() {
  local per=$1 ex=$2 port
  port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  cat > "$WORK/ingest-$per.env" <<ENV
CLOWDER_INGEST_HOST=127.0.0.1
CLOWDER_INGEST_PORT=$port
CLOWDER_INGEST_KEYS_FILE=$WORK/keys
CLOWDER_INGEST_BROKER_URL=amqp://guest:guest@127.0.0.1:5672/
CLOWDER_INGEST_EXCHANGE=$ex
CLOWDER_INGEST_POINTS_PER_MESSAGE=$per
CLOWDER_INGEST_DEDUPE_PATH=$WORK/dedupe-$per.db
CLOWDER_INGEST_STATUS_PATH=$WORK/ingest-status-$per.db
CLOWDER_INGEST_STATUS_QUEUE=$ex.status
CLOWDER_INGEST_STATUS_PAGE=${STATUS_PAGE:-true}
CLOWDER_INGEST_RATE_LIMIT=0
ENV
  "$BIN" check --env-file "$WORK/ingest-$per.env" >&2
  LOG_LEVEL=warning "$BIN" --env-file "$WORK/ingest-$per.env" >"$WORK/ingest-$per.log" 2>&1 &
  INGEST_PID=$!
  for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  .venv/bin/python Benchmarks/ingest/loadgen.py 127.0.0.1 "$port" "$CLIENTS" "$BATCHES" "$POINTS" bench "$SECRET_B64"
  kill "$INGEST_PID"
  wait "$INGEST_PID" 2>/dev/null || true
  INGEST_PID=
}
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" <<<"$2"; }

BARE=$("$WORK/bare_publisher" 127.0.0.1 5672 "${EXCHANGES[0]}" "$TOTAL" "$MSG_BYTES" 2000)
run_ingest 1 "${EXCHANGES[1]}" >"$WORK/old.out"
OLD=$(cat "$WORK/old.out")
run_ingest "$PER" "${EXCHANGES[2]}" >"$WORK/new.out"
NEW=$(cat "$WORK/new.out")
NEW_BYTES=$(field bytes "$("$WORK/bare_publisher" peek 127.0.0.1 5672 "${EXCHANGES[2]}.q")")
[ -n "$NEW_BYTES" ] || { echo "nothing was published by the ingest with POINTS_PER_MESSAGE=$PER: $NEW" >&2; exit 1; }
grep -q "statuses={202: $((CLIENTS * BATCHES))}" <<<"$OLD$NEW" || echo "warning: not every request was answered 202: $OLD / $NEW" >&2
BARE_MULTI=$("$WORK/bare_publisher" 127.0.0.1 5672 "${EXCHANGES[3]}" "$MULTI_MESSAGES" "$NEW_BYTES" 2000)
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

BARE_RATE=$(field msgs_per_s "$BARE")
OLD_RATE=$(field points_per_s "$OLD")
NEW_RATE=$(field points_per_s "$NEW")
BARE_MULTI_RATE=$(( $(field msgs_per_s "$BARE_MULTI") * TOTAL / MULTI_MESSAGES ))
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

echo
echo "load average before: $LOAD_BEFORE; after: $LOAD_AFTER ($(nproc) cores)"
echo "bare, 1 point per message:      $BARE"
echo "ingest, POINTS_PER_MESSAGE=1:   $OLD"
echo "ingest, POINTS_PER_MESSAGE=$PER: $NEW"
echo "bare, $NEW_BYTES-byte messages:   $BARE_MULTI"
echo
echo "| publisher | points | messages | points/s | p50 ms | p99 ms | × bare (same format) | × per-point ingest |"
echo "|---|---|---|---|---|---|---|---|"
echo "| bare librabbitmq, confirms (window 2000), $MSG_BYTES-byte messages | $TOTAL | $TOTAL | $BARE_RATE | – | – | 1.00 | $(ratio "$BARE_RATE" "$OLD_RATE") |"
echo "| clowder-ingest ($CONFIG), POINTS_PER_MESSAGE=1 | $TOTAL | $TOTAL | $OLD_RATE | $(field p50_ms "$OLD") | $(field p99_ms "$OLD") | $(ratio "$OLD_RATE" "$BARE_RATE") | 1.00 |"
echo "| clowder-ingest ($CONFIG), POINTS_PER_MESSAGE=$PER | $TOTAL | $MULTI_MESSAGES | $NEW_RATE | $(field p50_ms "$NEW") | $(field p99_ms "$NEW") | $(ratio "$NEW_RATE" "$BARE_MULTI_RATE") | $(ratio "$NEW_RATE" "$OLD_RATE") |"
echo "| bare librabbitmq, confirms (window 2000), $NEW_BYTES-byte messages | $TOTAL | $MULTI_MESSAGES | $BARE_MULTI_RATE | – | – | 1.00 | $(ratio "$BARE_MULTI_RATE" "$OLD_RATE") |"
echo
echo "$CLIENTS signed clients × $BATCHES batches × $POINTS points (gzip JSON), persistent messages, publisher confirms."
