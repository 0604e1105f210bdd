#!/usr/bin/env bash
# Footprint benchmark (not a test): `clowder-agent run` as it ships (scripts/build-agent.sh: release,
# static Swift runtime) tailing an access log that grows by 5,000 lines/s, probing 10 HTTP and
# 10 ping targets every second and delivering signed batches over HTTPS, beside, in the same run,
# mtail following the same log and prometheus-blackbox-exporter probing the same 20 targets
# every second. Reports for each process its peak RSS (VmHWM), and the largest and last PSS
# and anonymous memory (/proc/PID/smaps_rollup), plus CPU seconds; and that the agent counted
# every line written (requests in the batches the receiver verified = lines written).
#
#   Benchmarks/footprint/run.sh [SECONDS]     # default 600 (the documented run); e.g. 60 for a quick look
#   RATE=5000 AGENT=/path/to/clowder-agent Benchmarks/footprint/run.sh 120   # another rate; no build
#   KEEP=/tmp/fp Benchmarks/footprint/run.sh 60     # also keep the raw readings (load.json) and the agent's log
#
# Needs root (raw ICMP sockets), nginx, mtail, prometheus-blackbox-exporter, python3, and the
# repository's .venv (scripts/install-deps.sh) for the verifying receiver
# (Tests/AgentTests/Delivery/Support/receiver.py). Ports 23100-23199 on loopback.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
DURATION=${1:-600}
RATE=${RATE:-5000}
SHARED=${CLOWDER_SHARED_DIR:-$ROOT/../shared}
PY=$ROOT/.venv/bin/python3
for tool in nginx mtail prometheus-blackbox-exporter python3 curl; do
  command -v "$tool" >/dev/null || { echo "footprint: $tool is missing (scripts/install-deps.sh, apt-get install mtail prometheus-blackbox-exporter)" >&2; exit 2; }
done
[ -x "$PY" ] || { echo "footprint: $PY is missing (scripts/install-deps.sh makes the .venv)" >&2; exit 2; }
AGENT=${AGENT:-$(scripts/build-agent.sh)}

WORK=$(mktemp -d /tmp/footprint-bench.XXXXXX)
chmod 755 "$WORK"  # NGINX workers run unprivileged
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick() { local p; for p in $(seq "$1" 23199); do port_free "$p" && { echo "$p"; return; }; done; echo "footprint: no free port" >&2; exit 1; }
NGINX_PORT=$(pick 23100); BB_PORT=$(pick $((NGINX_PORT + 1))); MTAIL_PORT=$(pick $((BB_PORT + 1)))
RECV_PORT=$(pick $((MTAIL_PORT + 1)))

echo "== $DURATION s at $RATE lines/s; agent $AGENT ($(stat -c %s "$AGENT") bytes)"
# The lines: a pool of Clowder-shaped lines in the recommended format, written in turn.
POOL_LINES=$((RATE * DURATION < 300000 ? RATE * DURATION : 300000))
python3 "$SHARED/tools/gen-clowder-log" --format clowder --lines "$POOL_LINES" --seed 11 --out "$WORK/pool.log" --truth "$WORK/truth.json"
FORMAT=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["log_format"])' "$WORK/truth.json")
: > "$WORK/access.log"

# NGINX with ten small pages, one per HTTP target.
mkdir -p "$WORK/html"
for i in $(seq 0 9); do head -c 4096 /dev/urandom > "$WORK/html/t$i"; done
cat > "$WORK/nginx.conf" <<CONF
daemon on;
worker_processes 1;
error_log $WORK/error.log warn;
pid $WORK/nginx.pid;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $WORK/cb; proxy_temp_path $WORK/px; fastcgi_temp_path $WORK/fc;
  uwsgi_temp_path $WORK/uw; scgi_temp_path $WORK/sc;
  server { listen 127.0.0.1:$NGINX_PORT; root $WORK/html; }
}
CONF
nginx -c "$WORK/nginx.conf" -p "$WORK/"
HTTP_TARGETS=(); PING_TARGETS=()
for i in $(seq 0 9); do
  HTTP_TARGETS+=("http://127.0.0.1:$NGINX_PORT/t$i")
  PING_TARGETS+=("127.0.0.$((i + 1))")
done

# The receiver: verifies every batch's RFC 9421 signature like the ingest, over HTTPS.
SECRET=$(head -c 32 /dev/urandom | base64)
printf '{"footprint": "%s"}\n' "$SECRET" > "$WORK/keys.json"
printf '%s' "$SECRET" | base64 -d > "$WORK/agent.key"
mkdir -p "$WORK/tls"
"$PY" Tests/AgentTests/Delivery/Support/receiver.py serve --keys "$WORK/keys.json" --port "$RECV_PORT" --tls "$WORK/tls" \
  > "$WORK/receiver.out" 2> "$WORK/receiver.err" &
PIDS+=($!)
for _ in $(seq 100); do [ -s "$WORK/receiver.out" ] && break; sleep 0.1; done
CONTROL_PORT=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["control_port"])' "$WORK/receiver.out")
CA_FILE=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["ca_file"])' "$WORK/receiver.out")

# blackbox_exporter: one HTTP module and one ICMP module (one echo per probe).
cat > "$WORK/blackbox.yml" <<CONF
modules:
  http_2xx:
    prober: http
    timeout: 5s
    http:
      preferred_ip_protocol: ip4
  icmp:
    prober: icmp
    timeout: 2s
    icmp:
      preferred_ip_protocol: ip4
CONF
prometheus-blackbox-exporter --config.file="$WORK/blackbox.yml" \
  --web.listen-address="127.0.0.1:$BB_PORT" --log.level=error > "$WORK/bb.log" 2>&1 &
BB_PID=$!; PIDS+=("$BB_PID")

# mtail following the same log.
mkdir -p "$WORK/progs"; cp Benchmarks/footprint/clowder.mtail "$WORK/progs/"
mtail --progs "$WORK/progs" --logs "$WORK/access.log" --address 127.0.0.1 --port "$MTAIL_PORT" --logtostderr \
  > "$WORK/mtail.log" 2>&1 &
MTAIL_PID=$!; PIDS+=("$MTAIL_PID")

# The agent, with its shipping defaults except what this setup needs.
cat > "$WORK/agent.env" <<ENV
CLOWDER_METRICS_AGENT_ID=footprint
CLOWDER_METRICS_ACCESS_LOG=$WORK/access.log
CLOWDER_METRICS_LOG_FORMAT=$FORMAT
CLOWDER_METRICS_HTTP_TARGETS=$(IFS=,; echo "${HTTP_TARGETS[*]}")
CLOWDER_METRICS_PING_TARGETS=$(IFS=,; echo "${PING_TARGETS[*]}")
CLOWDER_METRICS_PROBE_INTERVAL=1
CLOWDER_METRICS_PING_COUNT=1
CLOWDER_METRICS_HTTP_TIMEOUT=2
CLOWDER_METRICS_INGEST_URL=https://127.0.0.1:$RECV_PORT
CLOWDER_METRICS_API_KEY_ID=footprint
CLOWDER_METRICS_API_KEY_FILE=$WORK/agent.key
CLOWDER_METRICS_CA_FILE=$CA_FILE
CLOWDER_METRICS_SPOOL_PATH=$WORK/spool/spool.db
ENV
"$AGENT" run --env-file "$WORK/agent.env" > "$WORK/agent.out" 2> "$WORK/agent.err" &
AGENT_PID=$!; PIDS+=("$AGENT_PID")

for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$BB_PORT/" && curl -s -o /dev/null "http://127.0.0.1:$MTAIL_PORT/" && break; sleep 0.1; done
sleep 1
kill -0 "$AGENT_PID" 2>/dev/null || { echo "footprint: the agent stopped:" >&2; cat "$WORK/agent.err" >&2; exit 1; }
# The binary at rest, for reference: the same build printing its version.
/usr/bin/time -f "%M" -o "$WORK/rest.kb" "$AGENT" --version > "$WORK/version.out"

echo "== load: $RATE lines/s into $WORK/access.log, blackbox driven at 20 probes/s, sampling every 2 s"
python3 Benchmarks/footprint/load.py --log "$WORK/access.log" --pool "$WORK/pool.log" --rate "$RATE" \
  --duration "$DURATION" --blackbox "127.0.0.1:$BB_PORT" --http "${HTTP_TARGETS[@]}" --ping "${PING_TARGETS[@]}" \
  --measure "clowder-agent=$AGENT_PID" "mtail=$MTAIL_PID" "blackbox_exporter=$BB_PID" > "$WORK/load.json"

# Let the agent and mtail catch up with the last lines, then stop the agent gracefully (it closes
# its open windows into a last batch and delivers it) and read what each one counted.
sleep 3
curl -s "http://127.0.0.1:$MTAIL_PORT/metrics" > "$WORK/mtail.metrics"
kill -TERM "$AGENT_PID"
for _ in $(seq 300); do kill -0 "$AGENT_PID" 2>/dev/null || break; sleep 0.1; done
curl -s "http://127.0.0.1:$CONTROL_PORT/state" > "$WORK/receiver.json"
# KEEP=DIR keeps the raw readings (load.json: every process's last and largest /proc values in kB).
[ -n "${KEEP:-}" ] && { mkdir -p "$KEEP"; cp "$WORK/load.json" "$WORK/agent.err" "$KEEP/"; }

python3 - "$WORK" "$DURATION" "$RATE" <<'PY'
import json, sys
work, duration, rate = sys.argv[1], int(sys.argv[2]), sys.argv[3]
load = json.load(open(f"{work}/load.json"))
state = json.load(open(f"{work}/receiver.json"))
requests = probes = 0
for b in state["batches"]:
    for p in b.get("points", []):
        if p.get("measurement") == "nginx_access":
            requests += p["fields"].get("requests", 0) + p["fields"].get("malformed_lines", 0)
        elif p.get("measurement") in ("http_response", "ping"):
            probes += 1
mtail_lines = 0
for line in open(f"{work}/mtail.metrics"):
    if line.startswith("lines_total{") or line.startswith("lines_total "):
        mtail_lines += int(float(line.split()[-1]))
rest_kb = int(open(f"{work}/rest.kb").read().split()[-1])
written = load["lines_written"]
print()
print(f"{duration} s, {written:,} lines written ({written / duration:,.0f}/s), 10 HTTP + 10 ping targets every second")
print(f"clowder-agent: {requests:,} lines in the batches the receiver verified (of {written:,} written), "
      f"{probes:,} probe points, {len(state['batches'])} batches, {state.get('rejected') and len(state['rejected']) or 0} rejected")
print(f"mtail: lines_total {mtail_lines:,}; blackbox_exporter: {load['blackbox']['probes']:,} probes, {load['blackbox']['ok']:,} successful")
print()
print(f"| {'process':<18} | {'peak RSS (VmHWM) MB':>19} | {'max RssFile MB':>14} | {'max PSS MB':>10} | {'max anon MB':>11} | {'last PSS MB':>11} | {'last anon MB':>12} | {'threads':>7} | {'CPU s':>6} |")
print(f"|{'-' * 20}|{'-' * 21}|{'-' * 16}|{'-' * 12}|{'-' * 13}|{'-' * 13}|{'-' * 14}|{'-' * 9}|{'-' * 8}|")
for name in ["clowder-agent", "mtail", "blackbox_exporter"]:
    s = load["processes"].get(name)
    if not s:
        print(f"| {name:<18} | (no sample) |"); continue
    mb = lambda d, k: d.get(k, 0) / 1024
    print(f"| {name:<18} | {mb(s['max'], 'VmHWM'):>19.1f} | {mb(s['max'], 'RssFile'):>14.1f} | {mb(s['max'], 'Pss'):>10.1f} | {mb(s['max'], 'Anonymous'):>11.1f} | "
          f"{mb(s['last'], 'Pss'):>11.1f} | {mb(s['last'], 'Anonymous'):>12.1f} | {s['max'].get('Threads', 0):>7} | {s.get('cpu_seconds', 0):>6.1f} |")
a = load["processes"].get("clowder-agent", {}).get("max", {})
print()
print(f"clowder-agent peak RSS {a.get('VmHWM', 0) / 1024:.1f} MB (goal ≤ 15); the same binary at rest "
      f"(`clowder-agent --version`) {rest_kb / 1024:.1f} MB")
if requests != written:
    print(f"MISMATCH: the agent delivered {requests} lines, {written} were written", file=sys.stderr)
    sys.exit(1)
PY
