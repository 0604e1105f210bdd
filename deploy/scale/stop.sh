#!/usr/bin/env bash
# Stops what deploy/scale/start.sh started, by the pids in $WORK/pids (nothing else): NGINX, the
# clowder-ingest replicas and the clowder-sink consumers first (SIGTERM: they finish what is in flight),
# then the RabbitMQ nodes (SIGTERM to each node's Erlang VM: a clean shutdown). Whatever is still
# running after CLOWDER_SCALE_STOP_TIMEOUT seconds (default 30) gets SIGKILL.
# The work directory (logs, data) is left for inspection; start.sh empties it.
# Usage: deploy/scale/stop.sh      (CLOWDER_SCALE_WORK as for start.sh; default /tmp/clowder-scale)
set -uo pipefail
WORK=${CLOWDER_SCALE_WORK:-/tmp/clowder-scale}
TIMEOUT=${CLOWDER_SCALE_STOP_TIMEOUT:-30}
[ -d "$WORK/pids" ] || { echo "scale: nothing to stop ($WORK/pids does not exist)"; exit 0; }

alive() { kill -0 "$1" 2>/dev/null; }
stop_group() { # pid files...
  local f pid pids=() deadline=$((SECONDS + TIMEOUT))
  for f in "$@"; do
    [ -s "$f" ] || continue
    pid=$(cat "$f")
    [[ "$pid" =~ ^[0-9]+$ ]] || { rm -f "$f"; continue; }
    if alive "$pid"; then kill -TERM "$pid" 2>/dev/null && pids+=("$pid") && echo "scale [$(date +%T)]: stopping $(basename "$f" .pid) (pid $pid)"; fi
  done
  for pid in "${pids[@]}"; do
    while alive "$pid" && ((SECONDS < deadline)); do sleep 0.2; done
    if alive "$pid"; then echo "scale: pid $pid still runs after ${TIMEOUT} s: SIGKILL"; kill -KILL "$pid" 2>/dev/null; fi
  done
  rm -f "$@"
}
shopt -s nullglob
stop_group "$WORK"/pids/nginx.pid
stop_group "$WORK"/pids/ingest-*.pid "$WORK"/pids/sink-*.pid "$WORK"/pids/agent-*.pid
NODE_HOST=localhost
[ -f "$WORK/scale.env" ] && . "$WORK/scale.env"
if [ -x "$WORK/bin/rabbitmqctl" ]; then
  for f in "$WORK"/pids/rabbitmq/*.pid; do
    [ -s "$f" ] && alive "$(cat "$f")" || continue
    echo "scale [$(date +%T)]: rabbitmqctl stop $(basename "$f" .pid)@$NODE_HOST"
    timeout "$TIMEOUT" "$WORK/bin/rabbitmqctl" -q -n "$(basename "$f" .pid)@$NODE_HOST" stop "$f" >/dev/null 2>&1 &
  done
  wait
fi
stop_group "$WORK"/pids/rabbitmq/*.pid
echo "scale [$(date +%T)]: stopped (logs and data stay in $WORK)"
