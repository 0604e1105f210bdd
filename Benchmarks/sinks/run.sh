#!/usr/bin/env bash
# Benchmark (not a test): messages/s from RabbitMQ into InfluxDB and into PostgreSQL
# through clowder-sink, acknowledged after each write, batch size 1,000.
#
# For each destination: publish N synthetic nginx_access points (one message = one point)
# to a fresh exchange whose sink queue is declared first, then start `clowder-sink` and time
# from the first message received to the last batch acknowledged (`--exit-when-idle`), and
# check the store holds exactly N points with the published Σ requests.
#
# Needs RabbitMQ, InfluxDB 1.x and PostgreSQL as started by scripts/start-servers.sh.
# Usage: [CONFIG=release|debug] Benchmarks/sinks/run.sh [N]   (default release, 200000)
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH=/opt/swift/usr/bin:$PATH
N=${1:-200000}
AMQP=${CLOWDER_TEST_AMQP_URL:-amqp://guest:guest@127.0.0.1:5672}
INFLUX=${CLOWDER_TEST_INFLUX_URL:-http://127.0.0.1:8086}
PG=${CLOWDER_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/clowder_test}

CONFIG=${CONFIG:-release}
swift build -c "$CONFIG" --product clowder-sink 2>&1 | tail -1
BIN="$(swift build -c "$CONFIG" --show-bin-path)/clowder-sink"
echo "clowder-sink: $BIN ($CONFIG)" >&2
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
RUN=bench$(date +%s)

bench() {  # name, extra env lines
  local name=$1; shift
  local env="$WORK/$name.env"
  {
    echo "CLOWDER_SINK_AMQP_URL=$AMQP"
    echo "CLOWDER_SINK_EXCHANGE=$RUN.$name"
    echo "CLOWDER_SINK_DLX_EXCHANGE=$RUN.$name.dlx"
    echo "CLOWDER_SINK_DLX_QUEUE=$RUN.$name.dlx"
    echo "CLOWDER_SINK_SINKS=$name"
    echo "CLOWDER_SINK_BATCH_SIZE=1000"
    echo "CLOWDER_SINK_PREFETCH=${PREFETCH:-4000}"
    echo "CLOWDER_SINK_LOG_LEVEL=warning"
    printf '%s\n' "$@"
  } > "$env"
  "$BIN" generate --env-file "$env" --count "$N" --label "$RUN" >"$WORK/$name.published"
  echo "published: $(cat "$WORK/$name.published")" >&2
  "$BIN" run --env-file "$env" --exit-when-idle 2 | tail -1
}

echo "== InfluxDB 1.x ($INFLUX), $N points, batch 1000" >&2
R1=$(bench influx "CLOWDER_SINK_INFLUX_URL=$INFLUX" "CLOWDER_SINK_INFLUX_DATABASE=$RUN")
echo "$R1"
curl -s --data-urlencode "q=SELECT count(requests), sum(requests) FROM nginx_access" "$INFLUX/query?db=$RUN" >&2; echo >&2
curl -s --data-urlencode "q=DROP DATABASE \"$RUN\"" "$INFLUX/query" >/dev/null

echo "== PostgreSQL ($PG), $N points, batch 1000" >&2
R2=$(bench postgres "CLOWDER_SINK_POSTGRES_URL=$PG" "CLOWDER_SINK_POSTGRES_TABLE_PREFIX=${RUN}_")
echo "$R2"
psql "$PG" -tAc "SELECT count(*), sum((fields->>'requests')::bigint) FROM ${RUN}_points" >&2 || true
psql "$PG" -qc "DROP TABLE IF EXISTS ${RUN}_points, ${RUN}_events" >/dev/null 2>&1 || true

# Leave no queues behind.
for name in influx postgres; do
  rabbitmqctl -q delete_queue "$RUN.$name.$name" >/dev/null 2>&1 || true
  rabbitmqctl -q delete_queue "$RUN.$name.dlx" >/dev/null 2>&1 || true
done
