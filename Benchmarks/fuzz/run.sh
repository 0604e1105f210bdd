#!/usr/bin/env bash
# Fuzzes every parser that takes outside input with libFuzzer (Swift's -sanitize=fuzzer,address):
#   Benchmarks/fuzz/run.sh [-n RUNS] [target…]     default RUNS 10000000, targets json logline signature settings keys
# FUZZ_MAX_LEN (default 1024) is the longest input in bytes; FUZZ_NO_BUILD=1 skips build.sh;
# FUZZ_MAX_TIME=S stops each target after S seconds even before RUNS (0, the default: no limit).
# Each target starts from its committed corpus (Tests/Fixtures/fuzz/<target>/, replayed by the tests on every CI run)
# and keeps what it finds in .build-fuzz/corpus/<target>/; a crash, leak or timeout stops that target and leaves
# the input in .build-fuzz/artifacts/<target>/ (replay: .build-fuzz/fuzz-<target> FILE). Targets run one after
# another, on one core each (the machine is shared). The last lines of each log (.build-fuzz/logs/<target>.log)
# give the count: "Done N runs in S second(s)". Results of the last full run: RESULTS.md beside this script.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
runs=10000000
if [[ "${1:-}" == "-n" ]]; then runs="$2"; shift 2; fi
targets=("$@")
[[ ${#targets[@]} -eq 0 ]] && targets=(json logline signature settings keys)
# FUZZ_NO_BUILD=1 runs the executables already in .build-fuzz.
[[ "${FUZZ_NO_BUILD:-0}" == 1 ]] || "$here/build.sh" "${targets[@]}"
out="$root/.build-fuzz"
status=0
for t in "${targets[@]}"; do
    mkdir -p "$out/corpus/$t" "$out/artifacts/$t" "$out/logs"
    echo "fuzz-$t: $runs inputs" >&2
    start=$(date +%s)
    if "$out/fuzz-$t" -runs="$runs" -max_total_time="${FUZZ_MAX_TIME:-0}" -max_len="${FUZZ_MAX_LEN:-1024}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$out/artifacts/$t/" "$out/corpus/$t" "$root/Tests/Fixtures/fuzz/$t" >"$out/logs/$t.log" 2>&1; then
        echo "fuzz-$t: $(grep -E '^Done [0-9]+ runs' "$out/logs/$t.log" | tail -1) (wall $(( $(date +%s) - start )) s)"
    else
        status=1
        echo "fuzz-$t: FAILED after $(( $(date +%s) - start )) s; see $out/logs/$t.log and $out/artifacts/$t/"
        grep -E 'ERROR|Fatal error|SUMMARY' "$out/logs/$t.log" | head -5 || true
    fi
done
exit $status
