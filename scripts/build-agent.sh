#!/usr/bin/env bash
# Builds clowder-agent as it ships and prints the binary's path on stdout (build output on stderr):
#   - release (-c release), agent-only build graph (CLOWDER_AGENT_ONLY=1: no Hummingbird, no postgres-nio);
#   - the Swift runtime linked statically (--static-swift-stdlib): the binary needs only Debian's C
#     libraries, and at rest it keeps about 7 MB fewer resident pages than with the shared runtime
#     (Benchmarks/footprint/RESULTS.md);
#   - in its own build folder, .build-static, so that the debug/test build in .build is not relinked.
# deploy/docker/clowder-agent.Dockerfile runs the same swift build command (in the container's .build).
#
#   scripts/build-agent.sh            # → /path/to/.build-static/release/clowder-agent
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d /opt/swift/usr/bin ] && export PATH=/opt/swift/usr/bin:$PATH
export CLOWDER_AGENT_ONLY=1
args=(-c release --static-swift-stdlib --scratch-path .build-static)
set +e
swift build "${args[@]}" --product clowder-agent 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\] ' >&2
status=${PIPESTATUS[0]}
set -e
((status == 0)) || { echo "build-agent: swift build failed (exit $status)" >&2; exit 1; }
bin="$(swift build "${args[@]}" --show-bin-path)/clowder-agent"
echo "$bin"
