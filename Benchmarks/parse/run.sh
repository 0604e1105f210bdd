#!/usr/bin/env bash
# Parse benchmark: clowder-agent parse (release) against grep -cP, mtail --one_shot and goaccess
# over the same generated log (gen-clowder-log --format timed). Prints lines/s, CPU seconds and
# peak RSS for each, and the ratios to clowder-agent. Not a test: numbers depend on the machine.
#
#   Benchmarks/parse/run.sh [LINES]        (default 2000000; needs python3, /usr/bin/time, mtail, goaccess)
#   AGENT=/path/to/clowder-agent Benchmarks/parse/run.sh     # that binary, no build
#
# Each tool runs once, pinned to one core (taskset -c 0 when available).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
shared="${CLOWDER_SHARED_DIR:-$repo/../shared}"
lines="${1:-2000000}"
work="$(mktemp -d "${TMPDIR:-/tmp}/clowder-parse-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT

for tool in python3 /usr/bin/time mtail goaccess grep; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing (apt-get install time mtail goaccess)" >&2; exit 2; }
done

# The agent as it ships (scripts/build-agent.sh: release, static Swift runtime); AGENT=/path skips the build.
if [ -z "${AGENT:-}" ]; then
  echo "== building clowder-agent (scripts/build-agent.sh)"
  agent="$("$repo/scripts/build-agent.sh")"
else
  agent=$AGENT
fi

echo "== generating $lines lines (gen-clowder-log --format timed)"
python3 "$shared/tools/gen-clowder-log" --format timed --lines "$lines" --seed 7 --out "$work/access.log" --truth "$work/truth.json"
format="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["log_format"])' "$work/truth.json")"
# The exact pattern clowder-agent compiles, for grep -P (anchored with ^ as PCRE2_ANCHORED does).
head -n 1 "$work/access.log" > "$work/one.log"
pattern="^$("$agent" parse "$work/one.log" --log-format "$format" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["pattern"])')"
cat "$work/access.log" > /dev/null  # warm the page cache

pin=()
command -v taskset >/dev/null && pin=(taskset -c 0)

# run NAME CMD...: one timed run; stores "wall user sys maxrss_kb" in $work/NAME.time
run() {
  local name="$1"; shift
  /usr/bin/time -f "%e %U %S %M" -o "$work/$name.time" "${pin[@]}" "$@" > "$work/$name.out" 2> "$work/$name.err" || {
    echo "run.sh: $name failed:" >&2; cat "$work/$name.err" >&2; exit 1; }
}

echo "== running"
# Baseline: the agent binary doing nothing (its linked libraries' resident pages).
run baseline "$agent" --version
run clowder-agent "$agent" parse "$work/access.log" --log-format "$format" --json
run grep-cP grep -cP "$pattern" "$work/access.log"
mkdir -p "$work/progs"; cp "$here/status.mtail" "$work/progs/"
run mtail mtail --one_shot --one_shot_format json --progs "$work/progs" --logs "$work/access.log" --logtostderr
run goaccess goaccess "$work/access.log" --log-format '%h %^[%d:%t %^] "%r" %s %b "%R" "%u" %T' \
  --date-format '%d/%b/%Y' --time-format '%T' --no-global-config -o "$work/goaccess.json"

# Sanity: every tool saw every parsed line.
python3 - "$work" "$lines" <<'PY'
import json, sys
work, lines = sys.argv[1], int(sys.argv[2])
truth = json.load(open(f"{work}/truth.json"))["totals"]
agent = json.load(open(f"{work}/clowder-agent.out"))
assert agent["lines"] == lines, agent["lines"]
for k, v in truth.items():
    assert agent["totals"].get(k) == v, (k, v, agent["totals"].get(k))
grep = int(open(f"{work}/grep-cP.out").read())
print(f"check: clowder-agent totals equal the truth file; grep -cP matched {grep} of {lines} lines "
      f"({truth['malformed_lines']} malformed in the truth)")
PY

python3 - "$work" "$lines" <<'PY'
import sys
work, lines = sys.argv[1], int(sys.argv[2])
rows = []
for name in ["clowder-agent", "grep-cP", "mtail", "goaccess"]:
    wall, user, sys_, rss = open(f"{work}/{name}.time").read().split()[-4:]
    wall, cpu, rss = float(wall), float(user) + float(sys_), int(rss) / 1024
    rows.append((name, wall, cpu, rss))
base = rows[0]
print()
print(f"{lines} lines, one core")
print(f"{'tool':<14} {'wall s':>8} {'CPU s':>8} {'lines/s (CPU)':>14} {'peak RSS MB':>12} {'CPU ÷ agent':>12}")
for name, wall, cpu, rss in rows:
    rate = lines / cpu if cpu > 0 else float('inf')
    print(f"{name:<14} {wall:>8.2f} {cpu:>8.2f} {rate:>14,.0f} {rss:>12.1f} {cpu / base[2]:>12.2f}")
print()
agent_rate = lines / base[2]
grep_rate = lines / rows[1][2]
idle_rss = int(open(f"{work}/baseline.time").read().split()[-1]) / 1024
print(f"clowder-agent: {agent_rate:,.0f} lines/s (goal ≥ 2,500,000), {100 * agent_rate / grep_rate:.0f}% of grep -cP (goal ≥ 75%), "
      f"{rows[2][2] / base[2]:.1f}× mtail (goal ≥ 30×), {rows[3][2] / base[2]:.1f}× goaccess (goal ≥ 50×), "
      f"{base[3]:.1f} MB peak RSS, of which {idle_rss:.1f} MB is the binary at rest (`clowder-agent --version`)")
PY
