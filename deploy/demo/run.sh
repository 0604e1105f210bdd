#!/usr/bin/env bash
# The whole system on this machine, in one command:
#   NGINX (recommended log format, Clowder-shaped routes) ◄─ real HTTP requests replayed from
#   ../shared/tools/gen-clowder-log ─► clowder-agent (logs + probes) ─► clowder-ingest ─► RabbitMQ
#   ─► clowder-sink ─► InfluxDB; then the dashboards' main figures, read back from InfluxDB,
#   printed beside the traffic that was sent.
#
# Usage: deploy/demo/run.sh [--short] [--keep] [--bin-dir DIR]
#   --short      ~15 s of traffic in windows of 3 s (what CI runs), instead of a minute in windows of 10 s
#   --keep       leave the InfluxDB database (clowder_demo_*) for Grafana; it is dropped otherwise
#   --bin-dir    use clowder-agent, clowder-ingest and clowder-sink from DIR instead of building them
# Needs root for apt (scripts/install-deps.sh) and for the servers (scripts/start-servers.sh), as on CI.
# Exit status 0 only if every compared figure in InfluxDB equals what was sent.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
SHORT=0 KEEP=0 BIN=""
while (($#)); do
  case "$1" in
    --short) SHORT=1 ;;
    --keep) KEEP=1 ;;
    --bin-dir) BIN=$2; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "demo: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
[ -d /opt/swift/usr/bin ] && export PATH=/opt/swift/usr/bin:$PATH
export PATH=$PATH:/usr/sbin:/sbin   # nginx, rabbitmqctl
# The shared tools live beside the repository (<clone>/../shared); from a worktree <dir>/wt/<name>, two up.
SHARED=${CLOWDER_SHARED_TOOLS:-$ROOT/../shared/tools}
[ -d "$SHARED" ] || SHARED=$ROOT/../../shared/tools
GEN=$SHARED/gen-clowder-log
[ -f "$GEN" ] || { echo "demo: $GEN not found (the shared tools live beside the repository)" >&2; exit 1; }

if ((SHORT)); then LINES=1500 SECONDS_OF_TRAFFIC=12 WINDOW=3 LATENESS=1 PROBE=2
else LINES=6000 SECONDS_OF_TRAFFIC=60 WINDOW=10 LATENESS=5 PROBE=5; fi

say() { printf '\033[1mdemo [%s]:\033[0m %s\n' "$(date +%T)" "$*"; }

# 1. What it needs, from Debian's packages; RabbitMQ and InfluxDB on loopback.
./scripts/install-deps.sh
./scripts/start-servers.sh
AMQP_URL=${CLOWDER_TEST_AMQP_URL:-amqp://guest:guest@127.0.0.1:5672}
INFLUX_URL=${CLOWDER_TEST_INFLUX_URL:-http://127.0.0.1:8086}

# 2. The three executables.
# The agent as it ships (scripts/build-agent.sh: release, static Swift runtime, in .build-static);
# the ingest and the sink from the debug build.
if [ -z "$BIN" ]; then
  say "building clowder-agent (release, static Swift runtime), clowder-ingest, clowder-sink"
  AGENT=$(./scripts/build-agent.sh)
  for p in clowder-ingest clowder-sink; do
    swift build --product "$p" 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\] ' | tail -2
  done
  BIN=$(swift build --show-bin-path)
else
  AGENT=$BIN/clowder-agent
fi
[ -x "$AGENT" ] || { echo "demo: $AGENT is missing" >&2; exit 1; }
for p in clowder-ingest clowder-sink; do
  [ -x "$BIN/$p" ] || { echo "demo: $BIN/$p is missing" >&2; exit 1; }
done

# 3. A scratch directory, free ports, unique names (other tests may share RabbitMQ and InfluxDB).
WORK=$(mktemp -d /tmp/clowder-demo.XXXXXX)
ID=$(basename "$WORK" | tr -dc 'a-zA-Z0-9' | tr 'A-Z' 'a-z')
DB=clowder_demo_$ID
EXCHANGE=clowder.metrics.demo.$ID
read -r PORT STATUS_PORT INGEST_PORT < <(python3 - <<'PY'
import socket
s = [socket.socket() for _ in range(3)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])
PY
)
PIDS=()
cleanup() {
  local rc=$?
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if ((rc != 0)); then
    for f in "$WORK"/*.log; do [ -s "$f" ] && { echo "---- $f (last lines)"; tail -n 15 "$f"; }; done
  fi
  if ((KEEP == 0)); then
    curl -s -o /dev/null -XPOST "$INFLUX_URL/query" --data-urlencode "q=DROP DATABASE \"$DB\"" || true
    if command -v rabbitmqctl >/dev/null; then
      rabbitmqctl -q delete_queue "$EXCHANGE.influx" >/dev/null 2>&1 || true
      rabbitmqctl -q delete_queue "$EXCHANGE.dlx" >/dev/null 2>&1 || true
    fi
  fi
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# 4. NGINX with the recommended format (deploy/nginx/clowder_metrics.conf) and the Clowder-shaped site.
mkdir -p "$WORK/nginx/logs"
sed -e "s#/var/log/nginx/#$WORK/nginx/logs/#" -e "s#127.0.0.1:8080#127.0.0.1:$STATUS_PORT#" \
  deploy/nginx/clowder_metrics.conf > "$WORK/nginx/clowder_metrics.conf"
sed -e "s#listen 80;#listen 127.0.0.1:$PORT;#" deploy/nginx/demo-site.conf > "$WORK/nginx/site.conf"
# The probes' target: /healthz on the loopback status server, which does not log (the tally stays exact).
sed -i "s#location / {#location = /healthz { return 200 \"healthy\\\\n\"; }\n    location / {#" "$WORK/nginx/clowder_metrics.conf"
cat > "$WORK/nginx/nginx.conf" <<CONF
daemon off;
worker_processes 1;
error_log $WORK/nginx/error.log;
pid $WORK/nginx/nginx.pid;
events { worker_connections 256; }
http {
  client_body_temp_path $WORK/nginx; proxy_temp_path $WORK/nginx; fastcgi_temp_path $WORK/nginx;
  uwsgi_temp_path $WORK/nginx; scgi_temp_path $WORK/nginx;
  include $WORK/nginx/clowder_metrics.conf;
  include $WORK/nginx/site.conf;
}
CONF
nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" >"$WORK/nginx.log" 2>&1 &
PIDS+=($!)
wait_http() { for _ in $(seq 1 200); do curl -fs -o /dev/null "$1" && return 0; sleep 0.1; done; echo "demo: $1 did not answer" >&2; return 1; }
wait_http "http://127.0.0.1:$STATUS_PORT/nginx_status"
say "NGINX on 127.0.0.1:$PORT (log $WORK/nginx/logs/access.log), stub_status on 127.0.0.1:$STATUS_PORT"

# 5. The ingest: one key for the agent, publishing to this demo's exchange.
SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '%s\n' "$SECRET" > "$WORK/agent.key"
cat > "$WORK/keys" <<KEYS
# keyid     kinds            credential (deploy/keys.example; demo only)
demo-agent  batches,events   hmac:file:$WORK/agent.key
KEYS
cat > "$WORK/ingest.env" <<ENV
CLOWDER_INGEST_HOST=127.0.0.1
CLOWDER_INGEST_PORT=$INGEST_PORT
CLOWDER_INGEST_KEYS_FILE=$WORK/keys
CLOWDER_INGEST_BROKER_URL=$AMQP_URL
CLOWDER_INGEST_EXCHANGE=$EXCHANGE
CLOWDER_INGEST_DEDUPE_PATH=$WORK/ingest-dedupe.db
CLOWDER_INGEST_JOURNAL_PATH=$WORK/ingest-journal.db
CLOWDER_INGEST_STATUS_PATH=$WORK/ingest-status.db
ENV
"$BIN/clowder-ingest" check --env-file "$WORK/ingest.env" >"$WORK/ingest-check.log" 2>&1
"$BIN/clowder-ingest" serve --env-file "$WORK/ingest.env" >"$WORK/ingest.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$INGEST_PORT/healthz"
say "clowder-ingest on 127.0.0.1:$INGEST_PORT, exchange $EXCHANGE"

# 6. The sink: this demo's queue, into InfluxDB database $DB.
cat > "$WORK/sink.env" <<ENV
CLOWDER_SINK_AMQP_URL=$AMQP_URL
CLOWDER_SINK_EXCHANGE=$EXCHANGE
CLOWDER_SINK_DLX_EXCHANGE=$EXCHANGE.dlx
CLOWDER_SINK_DLX_QUEUE=$EXCHANGE.dlx
CLOWDER_SINK_SINKS=influx
CLOWDER_SINK_BATCH_MAX_DELAY=0.2
CLOWDER_SINK_SHUTDOWN_GRACE=5
CLOWDER_SINK_INFLUX_URL=$INFLUX_URL
CLOWDER_SINK_INFLUX_DATABASE=$DB
ENV
"$BIN/clowder-sink" check --env-file "$WORK/sink.env" >"$WORK/sink-check.log" 2>&1
"$BIN/clowder-sink" run --env-file "$WORK/sink.env" >"$WORK/sink.log" 2>&1 &
PIDS+=($!)
say "clowder-sink: queue $EXCHANGE.influx -> InfluxDB database $DB"

# 7. The agent: the log from its start, probes of NGINX (HTTP, stub_status, ICMP), events on.
cat > "$WORK/agent.env" <<ENV
CLOWDER_METRICS_AGENT_ID=demo-agent
CLOWDER_METRICS_REGION=demo
CLOWDER_METRICS_ACCESS_LOG=$WORK/nginx/logs/access.log
CLOWDER_METRICS_LOG_FORMAT=clowder_metrics
CLOWDER_METRICS_READ_FROM=start
CLOWDER_METRICS_WINDOW=$WINDOW
CLOWDER_METRICS_ALLOWED_LATENESS=$LATENESS
CLOWDER_METRICS_EMIT_EVENTS=true
CLOWDER_METRICS_HTTP_TARGETS=http://127.0.0.1:$STATUS_PORT/healthz
CLOWDER_METRICS_HTTP_EXPECT_BODY=healthy
CLOWDER_METRICS_PING_TARGETS=127.0.0.1
CLOWDER_METRICS_STUB_STATUS_URL=http://127.0.0.1:$STATUS_PORT/nginx_status
CLOWDER_METRICS_PROBE_INTERVAL=$PROBE
CLOWDER_METRICS_PING_COUNT=3
CLOWDER_METRICS_INGEST_URL=http://127.0.0.1:$INGEST_PORT
CLOWDER_METRICS_API_KEY_ID=demo-agent
CLOWDER_METRICS_API_KEY_FILE=$WORK/agent.key
CLOWDER_METRICS_SPOOL_PATH=$WORK/spool.db
CLOWDER_METRICS_BATCH_MAX_AGE=1
ENV
"$AGENT" check --env-file "$WORK/agent.env" >"$WORK/agent-check.log" 2>&1
"$AGENT" run --env-file "$WORK/agent.env" >"$WORK/agent.log" 2>&1 &
AGENT_PID=$!
PIDS+=($AGENT_PID)
say "clowder-agent tailing the log, probing NGINX every $PROBE s, windows of $WINDOW s"

# 8. Traffic: real HTTP requests, paced over the run.
say "replaying $LINES Clowder-shaped requests over $SECONDS_OF_TRAFFIC s"
python3 deploy/demo/replay.py --generator "$GEN" --url "http://127.0.0.1:$PORT" --lines "$LINES" \
  --seconds "$SECONDS_OF_TRAFFIC" --tally "$WORK/tally.json"

# 9. Let the last window close: SIGTERM closes the open windows and sends what is spooled.
sleep $((WINDOW + LATENESS))
say "stopping the agent (SIGTERM: close windows, flush)"
kill -TERM "$AGENT_PID"
wait "$AGENT_PID" || { echo "demo: the agent exited with $?" >&2; exit 1; }

# 10. The figures, from InfluxDB, beside the tally.
say "reading the dashboards' figures from InfluxDB"
python3 deploy/demo/report.py --influx "$INFLUX_URL" --database "$DB" --tally "$WORK/tally.json" --wait 60
