#!/usr/bin/env bash
# The scaled-out centre on one machine, all on loopback (DESIGN.md "Scaling out"):
#
#   agents ─HTTP─► NGINX :25080 (upstream, passive health checks, next upstream on error/503)
#                    ├─► clowder-ingest #1 :25081 ─┐ publisher confirms
#                    └─► clowder-ingest #2 :25082 ─┴─► RabbitMQ cluster scale1,scale2,scale3@localhost
#                                                      (:25001-25003; quorum queue clowder.metrics.postgres)
#                                                        ├─► clowder-sink #1 ─┐ competing consumers,
#                                                        └─► clowder-sink #2 ─┴─► PostgreSQL (clowder_scale)
#
# Usage: deploy/scale/start.sh            (stop with deploy/scale/stop.sh; deploy/scale/run.sh tests it)
# Needs: Debian's rabbitmq-server, nginx(-light), a PostgreSQL server at CLOWDER_SCALE_PG_URL (psql on PATH),
# and the built clowder-ingest and clowder-sink (CLOWDER_BIN, else `swift build --show-bin-path`).
# As root the RabbitMQ nodes run as the `rabbitmq` user, as Debian's own node does; otherwise as you.
# It never touches the node on :5672 (Debian's default rabbit@<host>): these nodes have other names, ports,
# data directories, plugins file and their own Erlang cookie.
# Everything it writes is under the work directory; every process's pid is in $WORK/pids/<name>.pid.
# $WORK/scale.env has the settings used (run.sh and stop.sh read it); $WORK/bin/rabbitmqctl talks to these
# nodes (e.g. `$WORK/bin/rabbitmqctl -n scale2@localhost cluster_status`).
set -euo pipefail

# ---- Settings (environment variables override each; ports are TCP ports on 127.0.0.1)
WORK=${CLOWDER_SCALE_WORK:-/tmp/clowder-scale}                 # work directory (data, logs, pids)
RABBIT_NODES=(${CLOWDER_SCALE_RABBIT_NODES:-scale1 scale2 scale3})   # node names (before @localhost)
RABBIT_PORTS=(${CLOWDER_SCALE_RABBIT_PORTS:-25001 25002 25003})      # AMQP port of each node
RABBIT_DIST_PORTS=(${CLOWDER_SCALE_RABBIT_DIST_PORTS:-25011 25012 25013})  # Erlang distribution port of each node
RABBIT_CTL_PORTS=${CLOWDER_SCALE_RABBIT_CTL_PORTS:-25020-25049}      # distribution ports the CLI tools may use
BALANCER_PORT=${CLOWDER_SCALE_BALANCER_PORT:-25080}            # NGINX, what agents send to
INGEST_PORTS=(${CLOWDER_SCALE_INGEST_PORTS:-25081 25082})      # one clowder-ingest replica per port
SINK_CONSUMERS=${CLOWDER_SCALE_SINK_CONSUMERS:-2}              # clowder-sink processes on each sink queue
PG_URL=${CLOWDER_SCALE_PG_URL:-postgres://postgres@127.0.0.1:5432/clowder_scale}  # database (created if missing)
QUEUE_TYPE=${CLOWDER_SCALE_QUEUE_TYPE:-quorum}                 # CLOWDER_SINK_QUEUE_TYPE of the sinks
AMQP_USER=${CLOWDER_SCALE_AMQP_USER:-guest}                    # guest may connect from loopback only
AMQP_PASSWORD=${CLOWDER_SCALE_AMQP_PASSWORD:-guest}
KEY_ID=${CLOWDER_SCALE_KEY_ID:-scale-agent}                    # the agents' key (secret in $WORK/agent.key)
START_TIMEOUT=${CLOWDER_SCALE_START_TIMEOUT:-90}               # seconds each server may take to answer
BIN=${CLOWDER_BIN:-}                                           # folder of clowder-ingest and clowder-sink

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
[ -d /opt/swift/usr/bin ] && export PATH=/opt/swift/usr/bin:$PATH
export PATH=$PATH:/usr/sbin:/sbin
say() { printf 'scale [%s]: %s\n' "$(date +%T)" "$*"; }
fail() { echo "scale: $*" >&2; exit 1; }

if [ -z "$BIN" ]; then BIN=$(cd "$ROOT" && swift build --show-bin-path); fi
for p in clowder-ingest clowder-sink; do [ -x "$BIN/$p" ] || fail "$BIN/$p is missing (build it, or set CLOWDER_BIN)"; done
for c in nginx psql erl; do command -v "$c" >/dev/null || fail "$c is not on PATH (scripts/install-deps.sh installs it)"; done
[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || fail "Debian's rabbitmq-server is not installed"
((${#RABBIT_NODES[@]} == ${#RABBIT_PORTS[@]} && ${#RABBIT_NODES[@]} == ${#RABBIT_DIST_PORTS[@]})) \
  || fail "CLOWDER_SCALE_RABBIT_NODES, _PORTS and _DIST_PORTS must have as many entries"
if ls "$WORK"/pids/*.pid "$WORK"/pids/rabbitmq/*.pid >/dev/null 2>&1; then
  fail "$WORK has pid files: already running? (deploy/scale/stop.sh stops it)"
fi
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "${RABBIT_PORTS[@]}" "${RABBIT_DIST_PORTS[@]}" "$BALANCER_PORT" "${INGEST_PORTS[@]}"; do
  port_open "$p" && fail "port $p is in use (change the settings at the top of $0)"
done

rm -rf "$WORK"
mkdir -p "$WORK"/{pids/rabbitmq,logs,bin,rabbitmq/home}
NODE_HOST=localhost
node() { echo "${RABBIT_NODES[$1]}@$NODE_HOST"; }
amqp_url() { echo "amqp://$AMQP_USER:$AMQP_PASSWORD@127.0.0.1:${RABBIT_PORTS[$1]}/"; }
# Every node, starting with node $1 (a comma-separated list: after a failed connect or a lost
# connection the client moves to the next node; each process starts on another one).
amqp_urls() {
  local k n=${#RABBIT_NODES[@]} out=()
  for ((k = 0; k < n; k++)); do out+=("$(amqp_url $(( ($1 + k) % n )))"); done
  (IFS=,; echo "${out[*]}")
}

# ---- RabbitMQ: the Erlang cookie, the server's environment, a rabbitmqctl for these nodes
# The nodes and the CLI read the cookie from $HOME/.erlang.cookie; HOME is this work directory's, so
# the cookie is not the one Debian's node uses (/var/lib/rabbitmq/.erlang.cookie).
RUN_AS=()
if [ "$(id -u)" = 0 ]; then RUN_AS=(setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups --); fi
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$WORK/rabbitmq/home/.erlang.cookie"
chmod 0400 "$WORK/rabbitmq/home/.erlang.cookie"
echo '[].' > "$WORK/rabbitmq/enabled_plugins"   # no management plugin (its port would clash with Debian's node)
: > "$WORK/rabbitmq/rabbitmq-env.conf"         # not /etc/rabbitmq/rabbitmq-env.conf
cat > "$WORK/bin/rabbitmqctl" <<CTL
#!/bin/sh
# rabbitmqctl for the nodes of $WORK (their cookie; CLI distribution ports $RABBIT_CTL_PORTS).
export HOME=$WORK/rabbitmq/home RABBITMQ_CONF_ENV_FILE=$WORK/rabbitmq/rabbitmq-env.conf
export RABBITMQ_CTL_DIST_PORT_MIN=${RABBIT_CTL_PORTS%-*} RABBITMQ_CTL_DIST_PORT_MAX=${RABBIT_CTL_PORTS#*-}
exec ${RUN_AS[*]} /usr/lib/rabbitmq/bin/\$(basename "\$0") "\$@"
CTL
chmod 0755 "$WORK/bin/rabbitmqctl"
ln -s rabbitmqctl "$WORK/bin/rabbitmq-queues"
ln -s rabbitmqctl "$WORK/bin/rabbitmq-diagnostics"
CTL="$WORK/bin/rabbitmqctl"

configure_node() { # index
  local i=$1 dir="$WORK/rabbitmq/${RABBIT_NODES[$1]}"
  mkdir -p "$dir/mnesia" "$dir/log"
  {
    echo "# Node $(node "$i"): AMQP on loopback only."
    echo "listeners.tcp.default = 127.0.0.1:${RABBIT_PORTS[$i]}"
    echo "# Three nodes: the side that cannot see a majority pauses itself (no split brain)."
    echo "cluster_partition_handling = pause_minority"
    echo "log.console = false"
    echo "log.file.level = info"
    if ((i > 0)); then
      # Cluster formation at first boot (https://www.rabbitmq.com/docs/cluster-formation#peer-discovery-classic-config):
      # the first node is up before this one starts, so this one joins it; later boots use the node's own data.
      echo "cluster_formation.peer_discovery_backend = classic_config"
      echo "cluster_formation.classic_config.nodes.1 = $(node 0)"
    fi
  } > "$dir/rabbitmq.conf"
}
start_node() { # index
  local i=$1 name=${RABBIT_NODES[$1]} dir="$WORK/rabbitmq/${RABBIT_NODES[$1]}"
  (
    export HOME="$WORK/rabbitmq/home" RABBITMQ_NODENAME="$(node "$i")" RABBITMQ_NODE_PORT="${RABBIT_PORTS[$i]}"
    export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_DIST_PORT="${RABBIT_DIST_PORTS[$i]}"
    export RABBITMQ_CONFIG_FILE="$dir/rabbitmq.conf" RABBITMQ_MNESIA_BASE="$dir/mnesia" RABBITMQ_LOG_BASE="$dir/log"
    export RABBITMQ_ENABLED_PLUGINS_FILE="$WORK/rabbitmq/enabled_plugins" RABBITMQ_CONF_ENV_FILE="$WORK/rabbitmq/rabbitmq-env.conf"
    export RABBITMQ_PID_FILE="$WORK/pids/rabbitmq/$name.pid"
    # Erlang distribution on loopback only.
    export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
    exec "${RUN_AS[@]}" /usr/lib/rabbitmq/bin/rabbitmq-server >"$WORK/logs/rabbitmq-$name.log" 2>&1
  ) &
  LAUNCHERS[$i]=$!
}
LAUNCHERS=()
for i in "${!RABBIT_NODES[@]}"; do configure_node "$i"; done
# The nodes write their data, logs and pid files as the user they run as.
if [ "$(id -u)" = 0 ]; then chown -R rabbitmq:rabbitmq "$WORK/rabbitmq" "$WORK/pids/rabbitmq"; fi
# A node accepts AMQP connections once it has booted (its listener opens last). Polling the port is
# cheap; each rabbitmqctl call starts an Erlang VM (seconds on a busy machine).
wait_node() { # index: until the node's AMQP port opens, or its process ended, or START_TIMEOUT
  local deadline=$((SECONDS + START_TIMEOUT))
  while ((SECONDS < deadline)) && kill -0 "${LAUNCHERS[$1]}" 2>/dev/null; do
    port_open "${RABBIT_PORTS[$1]}" && return 0
    sleep 0.2
  done
  fail "RabbitMQ node $(node "$1") did not start (logs: $WORK/logs/rabbitmq-${RABBIT_NODES[$1]}.log, $WORK/rabbitmq/${RABBIT_NODES[$1]}/log)"
}
say "starting RabbitMQ node $(node 0) on port ${RABBIT_PORTS[0]}"
start_node 0
wait_node 0
say "starting RabbitMQ nodes ${RABBIT_NODES[*]:1} (@$NODE_HOST) on ports ${RABBIT_PORTS[*]:1}: they join $(node 0)"
for i in "${!RABBIT_NODES[@]}"; do ((i > 0)) && start_node "$i"; done
for i in "${!RABBIT_NODES[@]}"; do ((i > 0)) && wait_node "$i"; done
running_nodes() {
  "$CTL" -q -n "$(node 0)" cluster_status --formatter json \
    | python3 -c 'import json,sys; print(" ".join(sorted(json.load(sys.stdin)["running_nodes"])))'
}
running=$(running_nodes)
for i in "${!RABBIT_NODES[@]}"; do
  # A node that did not join at boot (it started before the first node answered) joins now
  # (https://www.rabbitmq.com/docs/clustering#creating).
  if ((i > 0)) && [[ " $running " != *" $(node "$i") "* ]]; then
    say "$(node "$i") joins $(node 0) with rabbitmqctl join_cluster"
    "$CTL" -q -n "$(node "$i")" stop_app >/dev/null
    "$CTL" -q -n "$(node "$i")" join_cluster "$(node 0)" >/dev/null
    "$CTL" -q -n "$(node "$i")" start_app >/dev/null
    running=$(running_nodes)
  fi
done
count=$(wc -w <<<"$running")
((count == ${#RABBIT_NODES[@]})) || fail "the cluster runs $count nodes ($running), not ${#RABBIT_NODES[@]}"
say "RabbitMQ cluster up: $running"

# ---- Our processes: $WORK/bin/<name> starts one in the foreground (log: $WORK/logs/<name>.log);
# `launch <name>` starts it in the background with its pid in $WORK/pids/<name>.pid (run.sh restarts
# a killed one the same way).
launcher() { # name, shell lines...
  local name=$1; shift
  { echo '#!/usr/bin/env bash'; echo "# Starts $name of $WORK in the foreground (deploy/scale/start.sh wrote this)."
    echo "exec >>$(printf %q "$WORK/logs/$name.log") 2>&1 </dev/null"; printf '%s\n' "$@"; } > "$WORK/bin/$name"
  chmod 0755 "$WORK/bin/$name"
}
launch() { "$WORK/bin/$1" & echo $! > "$WORK/pids/$1.pid"; }

# ---- PostgreSQL: the sinks' database (the sinks create their tables)
PG_DB=${PG_URL##*/}; PG_DB=${PG_DB%%\?*}
PG_ADMIN_URL=${PG_URL%/*}/postgres
for _ in $(seq 1 50); do psql "$PG_ADMIN_URL" -tAc 'select 1' >/dev/null 2>&1 && break; sleep 0.2; done
psql "$PG_ADMIN_URL" -tAc "select 1 from pg_database where datname = '$PG_DB'" | grep -q 1 \
  || psql "$PG_ADMIN_URL" -qc "create database \"$PG_DB\"" \
  || fail "cannot create database $PG_DB at $PG_ADMIN_URL"

# ---- The agents' key and the ingest replicas
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$WORK/agent.key"
chmod 0600 "$WORK/agent.key"
cat > "$WORK/keys" <<KEYS
# keyid  kinds           credential (format: deploy/keys.example)
$KEY_ID  batches,events  hmac:file:$WORK/agent.key
KEYS
start_ingest() { # index
  local i=$1 n=$(($1 + 1)) node=$(($1 % ${#RABBIT_NODES[@]}))
  cat > "$WORK/ingest-$n.env" <<ENV
CLOWDER_INGEST_HOST=127.0.0.1
CLOWDER_INGEST_PORT=${INGEST_PORTS[$i]}
# The agents sign for the balancer's address (RFC 9421 @target-uri), not this replica's.
CLOWDER_INGEST_PUBLIC_URL=http://127.0.0.1:$BALANCER_PORT
CLOWDER_INGEST_KEYS_FILE=$WORK/keys
# Every node of the cluster; each replica starts on another one.
CLOWDER_INGEST_BROKER_URL=$(amqp_urls "$node")
CLOWDER_INGEST_RETRY_AFTER=2
# State of this replica only: never shared between replicas.
CLOWDER_INGEST_DEDUPE_PATH=$WORK/ingest-$n/dedupe.db
CLOWDER_INGEST_JOURNAL_PATH=$WORK/ingest-$n/journal.db
CLOWDER_INGEST_STATUS_PATH=$WORK/ingest-$n/status.db
CLOWDER_INGEST_STATUS_QUEUE=clowder.metrics.status.ingest-$n
ENV
  mkdir -p "$WORK/ingest-$n"
  "$BIN/clowder-ingest" check --env-file "$WORK/ingest-$n.env" >"$WORK/logs/ingest-$n-check.log" 2>&1 \
    || fail "clowder-ingest check refused $WORK/ingest-$n.env: $(tail -3 "$WORK/logs/ingest-$n-check.log")"
  launcher "ingest-$n" "cd $(printf %q "$WORK/ingest-$n")" \
    "exec $(printf %q "$BIN/clowder-ingest") serve --env-file $(printf %q "$WORK/ingest-$n.env")"
  launch "ingest-$n"
}
wait_http() { # url seconds
  for _ in $(seq 1 $(($2 * 10))); do curl -fs -o /dev/null --max-time 2 "$1" && return 0; sleep 0.1; done
  return 1
}
for i in "${!INGEST_PORTS[@]}"; do start_ingest "$i"; done
for i in "${!INGEST_PORTS[@]}"; do
  wait_http "http://127.0.0.1:${INGEST_PORTS[$i]}/healthz" "$START_TIMEOUT" \
    || fail "clowder-ingest $((i + 1)) does not answer /healthz (log: $WORK/logs/ingest-$((i + 1)).log)"
done
say "clowder-ingest replicas on ports ${INGEST_PORTS[*]}"

# ---- NGINX: the HTTP load balancer in front of the replicas
mkdir -p "$WORK/nginx"
{
  cat <<CONF
# The load balancer in front of the clowder-ingest replicas (https://nginx.org/en/docs/http/ngx_http_upstream_module.html).
daemon off;
worker_processes 1;
error_log $WORK/logs/nginx-error.log warn;
pid $WORK/nginx/nginx.pid;
events { worker_connections 1024; }
http {
    # Which replica answered: a request passed on to the other one has two addresses and two statuses.
    log_format balancer '\$remote_addr [\$time_local] "\$request" \$status upstream=\$upstream_addr '
                        'upstream_status=\$upstream_status request_time=\$request_time';
    access_log $WORK/logs/nginx-access.log balancer;
    client_body_temp_path $WORK/nginx/body; proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi; uwsgi_temp_path $WORK/nginx/uwsgi; scgi_temp_path $WORK/nginx/scgi;

    upstream clowder_ingest {
        # Passive health checks: a replica that fails 3 times within 3 s (refused or reset connection, timeout,
        # 502 or 503) is skipped for 3 s, then tried again; one 503 (a broker nack while a node stops) is not enough.
CONF
  for p in "${INGEST_PORTS[@]}"; do echo "        server 127.0.0.1:$p max_fails=3 fail_timeout=3s;"; done
  cat <<CONF
        keepalive 16;
    }

    server {
        listen 127.0.0.1:$BALANCER_PORT;
        # The ingest's own bound (CLOWDER_INGEST_MAX_BODY_BYTES, 4 MiB) answers 413 itself.
        client_max_body_size 5m;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        # The replicas check the signature against CLOWDER_INGEST_PUBLIC_URL; Host passes unchanged.
        proxy_set_header Host \$http_host;
        proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
        proxy_connect_timeout 2s;
        # Longer than the ingest's publisher-confirm wait (CLOWDER_INGEST_CONFIRM_TIMEOUT, 30 s).
        proxy_read_timeout 40s;
        # The whole request is buffered before it is sent (the default), so it can be sent again.
        proxy_request_buffering on;
        proxy_next_upstream_tries 2;
        proxy_next_upstream_timeout 45s;

        # Batches are idempotent: the agent sends Idempotency-Key = the batch id, and every message is
        # published with message_id <key id>:<batch id>:<index>, on which every store is idempotent
        # (PostgreSQL and SQLite ON CONFLICT (message_id), InfluxDB same series and time). So a POST that
        # reached a replica which died or answered 502/503 is sent to the other one (non_idempotent):
        # whatever the first replica published before it died is stored once.
        location = /v1/batches {
            proxy_pass http://clowder_ingest;
            proxy_next_upstream error timeout http_502 http_503 non_idempotent;
        }
        # Events: X-API-Key clients may send them without Idempotency-Key, and then their message ids are
        # random, so a POST that already reached a replica is not sent again (NGINX's default for POST);
        # one that could not be connected is.
        location / {
            proxy_pass http://clowder_ingest;
            proxy_next_upstream error timeout http_502 http_503;
        }
    }
}
CONF
} > "$WORK/nginx/nginx.conf"
nginx -t -q -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" 2>"$WORK/logs/nginx-test.log" \
  || fail "nginx -t refused $WORK/nginx/nginx.conf: $(cat "$WORK/logs/nginx-test.log")"
launcher nginx "exec $(command -v nginx) -c $(printf %q "$WORK/nginx/nginx.conf") -p $(printf %q "$WORK/nginx")"
launch nginx
wait_http "http://127.0.0.1:$BALANCER_PORT/healthz" "$START_TIMEOUT" || fail "NGINX does not answer on $BALANCER_PORT"
say "NGINX balancer on 127.0.0.1:$BALANCER_PORT"

# ---- The sinks: SINK_CONSUMERS processes on the one sink queue (competing consumers)
cat > "$WORK/sink.env" <<ENV
CLOWDER_SINK_SINKS=postgres
CLOWDER_SINK_QUEUE_TYPE=$QUEUE_TYPE
CLOWDER_SINK_POSTGRES_URL=$PG_URL
CLOWDER_SINK_BATCH_MAX_DELAY=0.5
CLOWDER_SINK_SHUTDOWN_GRACE=10
ENV
start_sink() { # number (1-based)
  local n=$1 node=$((($1 - 1) % ${#RABBIT_NODES[@]}))
  # Each consumer starts on another node; the settings are otherwise the same (one file).
  launcher "sink-$n" "export CLOWDER_SINK_AMQP_URL=$(printf %q "$(amqp_urls "$node")")" \
    "exec $(printf %q "$BIN/clowder-sink") run --env-file $(printf %q "$WORK/sink.env")"
  launch "sink-$n"
}
CLOWDER_SINK_AMQP_URL=$(amqp_urls 0) "$BIN/clowder-sink" check --env-file "$WORK/sink.env" >"$WORK/logs/sink-check.log" 2>&1 \
  || fail "clowder-sink check refused $WORK/sink.env: $(tail -3 "$WORK/logs/sink-check.log")"
for n in $(seq 1 "$SINK_CONSUMERS"); do start_sink "$n"; done
# Wait until every consumer is on the queue and started (the log says so).
for n in $(seq 1 "$SINK_CONSUMERS"); do
  for _ in $(seq 1 $((START_TIMEOUT * 10))); do grep -q '"sink started"\|sink started' "$WORK/logs/sink-$n.log" 2>/dev/null && break; sleep 0.1; done
  grep -q 'sink started' "$WORK/logs/sink-$n.log" || fail "clowder-sink $n did not start (log: $WORK/logs/sink-$n.log)"
done
say "$SINK_CONSUMERS clowder-sink consumers on clowder.metrics.postgres ($QUEUE_TYPE) -> $PG_URL"

# ---- What run.sh and stop.sh read
{
  printf 'WORK=%q\nBIN=%q\nCTL=%q\nPG_URL=%q\nKEY_ID=%q\nBALANCER_PORT=%q\nSINK_CONSUMERS=%q\nQUEUE_TYPE=%q\n' \
    "$WORK" "$BIN" "$CTL" "$PG_URL" "$KEY_ID" "$BALANCER_PORT" "$SINK_CONSUMERS" "$QUEUE_TYPE"
  printf 'RABBIT_NODES=(%s)\nRABBIT_PORTS=(%s)\nINGEST_PORTS=(%s)\nNODE_HOST=%q\n' \
    "${RABBIT_NODES[*]}" "${RABBIT_PORTS[*]}" "${INGEST_PORTS[*]}" "$NODE_HOST"
} > "$WORK/scale.env"
say "up; stop with deploy/scale/stop.sh (work directory $WORK)"
