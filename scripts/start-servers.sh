#!/usr/bin/env bash
# Starts the servers the tests need, from Debian's packages, on loopback:
#   RabbitMQ 3.x  amqp://guest:guest@127.0.0.1:5672, management API http://127.0.0.1:15672
#   InfluxDB 1.x  http://127.0.0.1:8086 (meta/data under $CLOWDER_TEST_STATE)
#   PostgreSQL 15 postgres://postgres@127.0.0.1:5432/clowder_test (trust on loopback)
# A server already answering on its port is left alone. Exits non-zero if one
# does not come up. NGINX is started by the tests themselves.
set -euo pipefail
STATE=${CLOWDER_TEST_STATE:-/tmp/clowder-test-servers}
mkdir -p "$STATE"

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { # port seconds name
  for _ in $(seq 1 $(($2 * 10))); do port_open "$1" && return 0; sleep 0.1; done
  echo "start-servers: $3 did not open port $1 within $2 s" >&2; return 1
}

# RabbitMQ
if ! port_open 5672; then
  echo "start-servers: starting RabbitMQ"
  rabbitmq-server -detached >/dev/null 2>&1 || true
  wait_port 5672 60 RabbitMQ
fi
# The management API (http://127.0.0.1:15672/api/, guest/guest on loopback) for the agent's queue
# probe; enabling it on a running node needs no restart, and an enabled plugin is left as it is.
if ! port_open 15672; then
  echo "start-servers: enabling rabbitmq_management"
  rabbitmq-plugins enable rabbitmq_management >/dev/null
  wait_port 15672 60 "RabbitMQ management"
fi

# InfluxDB 1.x
if ! port_open 8086; then
  echo "start-servers: starting InfluxDB"
  mkdir -p "$STATE/influxdb"
  cat > "$STATE/influxdb.conf" <<CONF
reporting-disabled = true
bind-address = "127.0.0.1:18088"
[meta]
  dir = "$STATE/influxdb/meta"
[data]
  dir = "$STATE/influxdb/data"
  wal-dir = "$STATE/influxdb/wal"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:8086"
  log-enabled = false
CONF
  nohup influxd -config "$STATE/influxdb.conf" >"$STATE/influxdb.log" 2>&1 &
  echo $! > "$STATE/influxdb.pid"
  wait_port 8086 30 InfluxDB
fi

# PostgreSQL 15
if ! port_open 5432; then
  echo "start-servers: starting PostgreSQL"
  HBA=$(ls /etc/postgresql/*/main/pg_hba.conf | head -1)
  if ! grep -q "clowder-metrics tests" "$HBA"; then
    # Trust on loopback only, for the test user; first match wins, so prepend.
    { echo "# clowder-metrics tests"; echo "host all postgres 127.0.0.1/32 trust"; echo "host all postgres ::1/128 trust"; cat "$HBA"; } > "$HBA.new"
    mv "$HBA.new" "$HBA"; chown postgres:postgres "$HBA"
  fi
  VER=$(basename "$(dirname "$(dirname "$HBA")")")
  pg_ctlcluster "$VER" main start
  wait_port 5432 30 PostgreSQL
fi
for _ in $(seq 1 50); do
  psql -h 127.0.0.1 -U postgres -tAc "select 1" >/dev/null 2>&1 && break; sleep 0.2
done
psql -h 127.0.0.1 -U postgres -tAc "select 1 from pg_database where datname='clowder_test'" | grep -q 1 \
  || psql -h 127.0.0.1 -U postgres -qc "create database clowder_test"
echo "start-servers: RabbitMQ, InfluxDB and PostgreSQL are up"
