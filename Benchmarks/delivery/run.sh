#!/usr/bin/env bash
# Delivery footprint benchmark (not a test): the agent tails an access log
# written at 5,000 lines/s and sends to the Python test receiver (which
# verifies every request with http-message-signatures); the receiver is up,
# then down for 60 s, then up again. Prints peak RSS, CPU seconds, the spool
# size over time and the catch-up rate against the arrival rate.
#
#   Benchmarks/delivery/run.sh [--rate 5000] [--before 30] [--outage 60] [--after 60] [--window 10]
#
# Needs: a release build of clowder-agent with the `run` command
# (swift build -c release --product clowder-agent), the repository's .venv
# (scripts/install-deps.sh) and ../shared/tools/gen-clowder-log.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH=/opt/swift/usr/bin:$PATH
bin="$(swift build -c release --show-bin-path)/clowder-agent"
if [ ! -x "$bin" ]; then
  swift build -c release --product clowder-agent 2>&1 | tail -1
fi
exec .venv/bin/python Benchmarks/delivery/bench.py --agent "$bin" "$@"
