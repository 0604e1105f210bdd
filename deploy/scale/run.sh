#!/usr/bin/env bash
# The scaled-out centre under failures, checked exactly (issue 15's must-show):
#   1. deploy/scale/start.sh (3 RabbitMQ nodes, 2 clowder-ingest behind NGINX, 2 competing clowder-sinks
#      writing PostgreSQL through a quorum queue), on an empty database;
#   2. AGENTS clowder-agent processes tail logs from ../shared/tools/gen-clowder-log (a chunk a second,
#      as NGINX would write them) and send through the NGINX balancer, while, mid-stream:
#        - RabbitMQ node 1 (the quorum queue's first leader; ingest 1 and sink 1 start on it and move to
#          the next node of their broker list) is stopped
#          with `rabbitmqctl -n scale1@localhost stop_app` and started again (start_app);
#        - clowder-ingest replica 1 is killed with SIGKILL and started again;
#        - clowder-sink consumer 2 is killed with SIGKILL and NOT started again: consumer 1 alone takes
#          over the messages it held unacknowledged (RabbitMQ redelivers them);
#   3. the agents are stopped (SIGTERM: they close their windows and send what is spooled), and the run
#      waits until the store settles: every agent exited 0 with an empty spool, and every queue of the
#      cluster holds no message (ready or unacknowledged) — never until the figures match;
#   4. checks, once: PostgreSQL's sum of every counter of every nginx_access point equals the sum of the
#      agents' ground truths exactly, late_lines is 0, the events table holds one row per event of the
#      truth (views, downloads, uploads, deletes, extractions), and every dead-letter queue is empty.
# Prints the figures (truth vs store per counter, time taken) and exits 0 only when all hold.
# Everything is stopped on exit (deploy/scale/stop.sh). Takes about a minute on an idle 2-core machine.
#
# Usage: deploy/scale/run.sh        (CLOWDER_BIN: folder of clowder-agent, clowder-ingest, clowder-sink;
#                                    default `swift build --show-bin-path`; other settings: start.sh)
set -euo pipefail

# ---- Settings
LINES=${CLOWDER_SCALE_LINES:-12000}        # log lines per agent
AGENTS=${CLOWDER_SCALE_AGENTS:-2}          # agents, each with its own log, seed and agent id
RATE=${CLOWDER_SCALE_RATE:-100}            # mean requests per second of log time (gen-clowder-log --rate)
CHUNKS=${CLOWDER_SCALE_CHUNKS:-30}         # the log is written in this many chunks, one a second
NODE_STOP_AT=${CLOWDER_SCALE_NODE_STOP_AT:-4}      # seconds into the stream: rabbitmqctl stop_app on node 1
NODE_DOWN_FOR=${CLOWDER_SCALE_NODE_DOWN_FOR:-5}    # seconds node 1 stays stopped
INGEST_KILL_AT=${CLOWDER_SCALE_INGEST_KILL_AT:-9}  # kill -9 ingest replica 1
INGEST_DOWN_FOR=${CLOWDER_SCALE_INGEST_DOWN_FOR:-4}
SINK_KILL_AT=${CLOWDER_SCALE_SINK_KILL_AT:-15}     # kill -9 sink consumer 2 (not restarted)
SETTLE_TIMEOUT=${CLOWDER_SCALE_SETTLE_TIMEOUT:-90} # seconds the store may take to settle

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
[ -d /opt/swift/usr/bin ] && export PATH=/opt/swift/usr/bin:$PATH
export PATH=$PATH:/usr/sbin:/sbin
export CLOWDER_SCALE_WORK=${CLOWDER_SCALE_WORK:-/tmp/clowder-scale}
WORK=$CLOWDER_SCALE_WORK
say() { printf 'scale-run [%s]: %s\n' "$(date +%T)" "$*"; }
fail() { echo "scale-run: FAIL: $*" >&2; exit 1; }
STARTED=$SECONDS

SHARED=${CLOWDER_SHARED_TOOLS:-$ROOT/../shared/tools}
[ -d "$SHARED" ] || SHARED=$ROOT/../../shared/tools
GEN=$SHARED/gen-clowder-log
[ -f "$GEN" ] || fail "$GEN not found (the shared tools live beside the repository)"
if [ -z "${CLOWDER_BIN:-}" ]; then export CLOWDER_BIN=$(cd "$ROOT" && swift build --show-bin-path); fi
AGENT=${CLOWDER_AGENT:-$CLOWDER_BIN/clowder-agent}
[ -x "$AGENT" ] || fail "$AGENT is missing (build it, or set CLOWDER_AGENT)"

# An empty store: the database is dropped and start.sh creates it again.
PG_URL=${CLOWDER_SCALE_PG_URL:-postgres://postgres@127.0.0.1:5432/clowder_scale}
PG_DB=${PG_URL##*/}; PG_DB=${PG_DB%%\?*}
psql "${PG_URL%/*}/postgres" -qc "drop database if exists \"$PG_DB\" with (force)" >/dev/null \
  || fail "cannot drop database $PG_DB (is PostgreSQL up? scripts/start-servers.sh starts it)"

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  jobs -p | xargs -r kill 2>/dev/null || true
  "$HERE/stop.sh" > "$WORK/logs/stop.log" 2>&1 || true
  if ((rc != 0)) && [ -d "$WORK/logs" ]; then
    for f in "$WORK"/logs/*.log; do
      [ -s "$f" ] && case "$f" in *nginx-access*) ;; *) echo "---- $f (last lines)"; tail -n 8 "$f";; esac
    done
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$HERE/start.sh"
# shellcheck source=/dev/null
. "$WORK/scale.env"
node() { echo "${RABBIT_NODES[$1]}@$NODE_HOST"; }
launch() { "$WORK/bin/$1" & echo $! > "$WORK/pids/$1.pid"; }

# ---- The logs (log time ends a minute ago: within the ingest's CLOWDER_INGEST_MAX_AGE) and the agents
SPAN=$(( LINES / RATE + 1 ))
START_TIME=$(date -u -d "@$(( $(date +%s) - SPAN - 60 ))" +%Y-%m-%dT%H:%M:%SZ)
for a in $(seq 1 "$AGENTS"); do
  d="$WORK/agent-$a"; mkdir -p "$d/chunks"
  python3 "$GEN" --lines "$LINES" --seed "$((1500 + a))" --format clowder_rl --rate "$RATE" --start "$START_TIME" \
    --out "$d/source.log" --truth "$d/truth.json"
  split -n "l/$CHUNKS" -d -a 3 "$d/source.log" "$d/chunks/"
  : > "$d/access.log"
  cat > "$d/agent.env" <<ENV
CLOWDER_METRICS_AGENT_ID=scale-agent-$a
CLOWDER_METRICS_HOST=scale-host-$a
CLOWDER_METRICS_REGION=scale
CLOWDER_METRICS_ACCESS_LOG=$d/access.log
CLOWDER_METRICS_LOG_FORMAT=clowder_metrics
CLOWDER_METRICS_READ_FROM=start
CLOWDER_METRICS_WINDOW=1
CLOWDER_METRICS_ALLOWED_LATENESS=2
CLOWDER_METRICS_EMIT_EVENTS=true
CLOWDER_METRICS_INGEST_URL=http://127.0.0.1:$BALANCER_PORT
CLOWDER_METRICS_API_KEY_ID=$KEY_ID
CLOWDER_METRICS_API_KEY_FILE=$WORK/agent.key
CLOWDER_METRICS_SPOOL_PATH=$d/spool.db
CLOWDER_METRICS_HEALTH_FILE=$d/agent.prom
CLOWDER_METRICS_BATCH_MAX_POINTS=50
CLOWDER_METRICS_BATCH_MAX_AGE=0.3
CLOWDER_METRICS_RETRY_INITIAL=0.2
CLOWDER_METRICS_RETRY_MAX=2
CLOWDER_METRICS_SHUTDOWN_GRACE=60
ENV
  "$AGENT" check --env-file "$d/agent.env" >"$WORK/logs/agent-$a-check.log" 2>&1 \
    || fail "clowder-agent check refused $d/agent.env: $(tail -3 "$WORK/logs/agent-$a-check.log")"
  printf '%s\n' '#!/usr/bin/env bash' "exec >>$(printf %q "$WORK/logs/agent-$a.log") 2>&1 </dev/null" \
    "exec $(printf %q "$AGENT") run --env-file $(printf %q "$d/agent.env")" > "$WORK/bin/agent-$a"
  chmod 0755 "$WORK/bin/agent-$a"
  launch "agent-$a"
done
say "$AGENTS agents, $LINES lines each (log time $START_TIME + ${SPAN} s), through NGINX on :$BALANCER_PORT"

# ---- The failures, on their own schedule beside the stream
T0=$SECONDS
at() { local wait=$(( T0 + $1 - SECONDS )); ((wait > 0)) && sleep "$wait"; return 0; }
(
  at "$NODE_STOP_AT"
  say "rabbitmqctl -n $(node 0) stop_app"
  "$CTL" -q -n "$(node 0)" stop_app >/dev/null || say "stop_app failed"
  say "$(node 0) stopped"
  sleep "$NODE_DOWN_FOR"
  say "rabbitmqctl -n $(node 0) start_app"
  "$CTL" -q -n "$(node 0)" start_app >/dev/null || say "start_app failed"
  say "$(node 0) running again"
) > "$WORK/logs/failures-node.log" 2>&1 &
NODE_JOB=$!
(
  at "$INGEST_KILL_AT"
  say "kill -9 clowder-ingest 1 (pid $(cat "$WORK/pids/ingest-1.pid"))"
  kill -KILL "$(cat "$WORK/pids/ingest-1.pid")"
  sleep "$INGEST_DOWN_FOR"
  launch ingest-1
  say "clowder-ingest 1 started again (pid $(cat "$WORK/pids/ingest-1.pid"))"
) > "$WORK/logs/failures-ingest.log" 2>&1 &
INGEST_JOB=$!
(
  at "$SINK_KILL_AT"
  say "kill -9 clowder-sink 2 (pid $(cat "$WORK/pids/sink-2.pid")); not started again"
  kill -KILL "$(cat "$WORK/pids/sink-2.pid")"
  rm -f "$WORK/pids/sink-2.pid"
) > "$WORK/logs/failures-sink.log" 2>&1 &
SINK_JOB=$!

# ---- The stream: a chunk of every log a second; the last one waits until every failure is over
# (on a busy machine rabbitmqctl takes longer), so that lines keep coming after each of them.
write_chunk() { for a in $(seq 1 "$AGENTS"); do cat "$WORK/agent-$a/chunks/$(printf %03d "$1")" >> "$WORK/agent-$a/access.log"; done; }
for c in $(seq 0 $((CHUNKS - 2))); do at "$c"; write_chunk "$c"; done
wait "$INGEST_JOB" "$SINK_JOB"
wait "$NODE_JOB" || true
sleep 1
write_chunk $((CHUNKS - 1))
say "every line written ($((SECONDS - T0)) s)"
sort "$WORK"/logs/failures-*.log
grep -q "running again" "$WORK/logs/failures-node.log" || fail "node $(node 0) was not stopped and started again"
"$CTL" -q -n "$(node 0)" await_startup --timeout 60 >/dev/null || fail "node $(node 0) did not start again"

# ---- Settle: agents stop (their last windows close and go out), then the queues drain
for a in $(seq 1 "$AGENTS"); do kill -TERM "$(cat "$WORK/pids/agent-$a.pid")"; done
for a in $(seq 1 "$AGENTS"); do
  pid=$(cat "$WORK/pids/agent-$a.pid")
  rc=0; wait "$pid" || rc=$?
  rm -f "$WORK/pids/agent-$a.pid"
  ((rc == 0)) || fail "agent $a exited with $rc (log: $WORK/logs/agent-$a.log)"
  left=$(awk '$1 ~ /^clowder_agent_spool_batches({|$)/ {print $2}' "$WORK/agent-$a/agent.prom")
  [ "$left" = 0 ] || fail "agent $a stopped with $left batches still in its spool"
done
say "agents stopped, spools empty ($((SECONDS - T0)) s)"
deadline=$((SECONDS + SETTLE_TIMEOUT))
while :; do
  "$CTL" -q -n "$(node 1)" list_queues name type messages messages_unacknowledged consumers > "$WORK/queues.txt"
  # Settled when no queue holds a message the sinks have yet to write (the status queues are the ingest's own).
  busy=$(awk -F'\t' '$1 !~ /\.status\./ && $1 != "name" && $3 != 0' "$WORK/queues.txt")
  [ -z "$busy" ] && break
  ((SECONDS < deadline)) || fail "the queues did not drain within $SETTLE_TIMEOUT s: $busy"
  sleep 1
done
say "queues drained ($((SECONDS - T0)) s)"

# ---- The figures
python3 "$HERE/check.py" --pg-url "$PG_URL" --queues "$WORK/queues.txt" --nginx-log "$WORK/logs/nginx-access.log" \
  --seconds "$((SECONDS - STARTED))" $(for a in $(seq 1 "$AGENTS"); do echo "--truth $WORK/agent-$a/truth.json --health $WORK/agent-$a/agent.prom"; done)
