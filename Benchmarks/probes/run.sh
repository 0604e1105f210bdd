#!/usr/bin/env bash
# Probe footprint benchmark (not a test): clowder-agent probing 10 HTTP and 10
# ping targets every second on loopback for DURATION seconds, beside
# prometheus-blackbox-exporter doing the same through its /probe endpoint
# (driven by a small loop here), in the same run. Prints CPU seconds, CPU per
# probe and peak RSS of each.
#
#   Benchmarks/probes/run.sh            # 60 s
#   DURATION=10 Benchmarks/probes/run.sh
#   AGENT=.build/release/clowder-agent Benchmarks/probes/run.sh   # no build
#
# Needs root (raw ICMP sockets for both), nginx, prometheus-blackbox-exporter.
# CPU is user+system time of the prober process from /proc/<pid>/stat; peak
# RSS is VmHWM from /proc/<pid>/status, both read just before it is stopped.
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-60}
export PATH=/opt/swift/usr/bin:$PATH

# AGENT=/path/to/clowder-agent skips the build.
# Otherwise the agent as it ships (scripts/build-agent.sh: release, static Swift runtime).
AGENT=${AGENT:-$(scripts/build-agent.sh)}

WORK=$(mktemp -d /tmp/probes-bench.XXXXXX)
chmod 755 "$WORK"  # NGINX workers run unprivileged
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
NGINX_PORT=$(free_port)
BB_PORT=$(free_port)

# NGINX with ten small pages (one per HTTP target).
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
  --web.listen-address="127.0.0.1:$BB_PORT" --log.level=error >"$WORK/bb.log" 2>&1 &
BB_PID=$!; PIDS+=("$BB_PID")

# The agent: the same 20 targets through its scheduler, every second, one echo per ping round.
"$AGENT" probe --watch 1 --count 1 --timeout 2 "${HTTP_TARGETS[@]}" "${PING_TARGETS[@]}" >"$WORK/agent.jsonl" 2>"$WORK/agent.err" &
AGENT_PID=$!; PIDS+=("$AGENT_PID")

for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$BB_PORT/" && break; sleep 0.1; done

# Drive blackbox: every second, the 20 probes at once (as Prometheus would scrape them).
: > "$WORK/bb.results"
drive() {
  local start=$(date +%s.%N) pids=()
  for s in $(seq 0 $((DURATION - 1))); do
    for t in "${HTTP_TARGETS[@]}"; do
      curl -s "http://127.0.0.1:$BB_PORT/probe?module=http_2xx&target=$t" | grep -c '^probe_success 1' >>"$WORK/bb.results" &
      pids+=($!)
    done
    for t in "${PING_TARGETS[@]}"; do
      curl -s "http://127.0.0.1:$BB_PORT/probe?module=icmp&target=$t" | grep -c '^probe_success 1' >>"$WORK/bb.results" &
      pids+=($!)
    done
    local next=$(echo "$start + $s + 1" | bc)
    local now=$(date +%s.%N)
    local left=$(echo "$next - $now" | bc)
    [[ $left == -* ]] || sleep "$left"
  done
  wait "${pids[@]}"  # the probe requests only, not the servers
}
drive

cpu_seconds() { awk -v t="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$1/stat"; }
peak_rss_mb() { awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

A_CPU=$(cpu_seconds "$AGENT_PID"); A_RSS=$(peak_rss_mb "$AGENT_PID")
B_CPU=$(cpu_seconds "$BB_PID"); B_RSS=$(peak_rss_mb "$BB_PID")
A_PROBES=$(grep -c '"point"' "$WORK/agent.jsonl" || true)
A_OK=$(grep '"point"' "$WORK/agent.jsonl" | grep -c '"result":"success"' || true)
B_PROBES=$(wc -l < "$WORK/bb.results")
B_OK=$(grep -c '^1$' "$WORK/bb.results" || true)

printf '\nProbes: 10 HTTP + 10 ping targets on loopback, every 1 s, %s s\n\n' "$DURATION"
printf '| %-28s | %7s | %7s | %7s | %14s | %13s |\n' "prober" "probes" "ok" "CPU s" "CPU ms/probe" "peak RSS MB"
printf '|%s|%s|%s|%s|%s|%s|\n' "------------------------------" "---------" "---------" "---------" "----------------" "---------------"
row() { printf '| %-28s | %7s | %7s | %7s | %14s | %13s |\n' "$1" "$2" "$3" "$4" \
  "$(awk -v c="$4" -v n="$2" 'BEGIN { if (n > 0) printf "%.3f", c * 1000 / n; else print "-" }')" "$5"; }
row "clowder-agent probe --watch" "$A_PROBES" "$A_OK" "$A_CPU" "$A_RSS"
row "blackbox_exporter 0.23 /probe" "$B_PROBES" "$B_OK" "$B_CPU" "$B_RSS"
printf '\n(the driver loop'"'"'s curl processes are not counted for blackbox; NGINX is shared)\n'
