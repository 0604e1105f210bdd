#!/usr/bin/env bash
# Delivery footprint benchmark (not a test): the agent tails an access log
# written at 5,000 lines/s and sends to the Python test receiver (which
# verifies every request with http-message-signatures); the receiver is up,
# then down for 60 s, then up again. Prints peak RSS, CPU seconds, the spool
# size over time and the catch-up rate against the arrival rate.
#
#   Benchmarks/delivery/run.sh [--rate 5000] [--before 30] [--outage 60] [--after 60] [--window 10]
#
# Needs: the agent as it ships (scripts/build-agent.sh builds it; AGENT=/path skips that), the repository's .venv
# (scripts/install-deps.sh) and ../shared/tools/gen-clowder-log.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${AGENT:-$(scripts/build-agent.sh)}
exec .venv/bin/python Benchmarks/delivery/bench.py --agent "$bin" "$@"
