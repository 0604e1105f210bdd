# syntax=docker/dockerfile:1
# clowder-agent: the agent (beside NGINX or probe-only).
# Build from the repository root:
#   docker build -f deploy/docker/clowder-agent.Dockerfile -t clowder-agent .
# The build stage installs the same -dev packages as scripts/install-deps.sh (the
# C libraries the Swift targets link; Tests/DeployTests checks the two lists agree)
# and builds with the same SwiftPM command as scripts/test.sh, in release mode with
# the Swift runtime linked statically, so the runtime image needs only Debian's
# shared C libraries.

FROM swift:6.3-bookworm AS build
RUN export DEBIAN_FRONTEND=noninteractive \
 && apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends libcurl4-openssl-dev libpcre2-dev librabbitmq-dev libsqlite3-dev zlib1g-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/src/.build \
    CLOWDER_AGENT_ONLY=1 swift build -c release --static-swift-stdlib --product clowder-agent \
 && install -D -m 0755 "$(CLOWDER_AGENT_ONLY=1 swift build -c release --show-bin-path)/clowder-agent" /out/clowder-agent \
 && strip /out/clowder-agent

FROM debian:bookworm-slim
RUN export DEBIAN_FRONTEND=noninteractive \
 && apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends libcurl4 libpcre2-8-0 librabbitmq4 libsqlite3-0 zlib1g ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 clowder-metrics \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/clowder-metrics --shell /usr/sbin/nologin clowder-metrics \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/clowder-metrics \
 && install -d -m 0755 /etc/clowder-metrics
COPY --from=build /out/clowder-agent /usr/local/bin/clowder-agent
USER 10001:10001
WORKDIR /var/lib/clowder-metrics
VOLUME ["/var/lib/clowder-metrics"]
ENTRYPOINT ["/usr/local/bin/clowder-agent"]
CMD ["run", "--env-file", "/etc/clowder-metrics/agent.env"]
