# syntax=docker/dockerfile:1
# clowder-ingest: the ingest endpoint.
# Build from the repository root:
#   docker build -f deploy/docker/clowder-ingest.Dockerfile -t clowder-ingest .
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
    swift build -c release --static-swift-stdlib --product clowder-ingest \
 && install -D -m 0755 "$(swift build -c release --show-bin-path)/clowder-ingest" /out/clowder-ingest \
 && strip /out/clowder-ingest

# Swagger UI for /docs, from PyPI (swagger-ui-py 25.7.1 ships Swagger UI 5.24.2's dist files), as
# scripts/install-deps.sh installs it: served from this image, never from a CDN.
FROM debian:bookworm-slim AS swagger-ui
RUN export DEBIAN_FRONTEND=noninteractive \
 && apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends python3-pip \
 && pip install -q --no-deps --break-system-packages --target /out/pip swagger-ui-py==25.7.1 \
 && install -d /out/swagger-ui \
 && cp /out/pip/swagger_ui/static/swagger-ui-bundle.js /out/pip/swagger_ui/static/swagger-ui.css /out/pip/swagger_ui/static/LICENSE /out/swagger-ui/

FROM debian:bookworm-slim
RUN export DEBIAN_FRONTEND=noninteractive \
 && apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends libcurl4 libpcre2-8-0 librabbitmq4 libsqlite3-0 zlib1g ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 clowder-metrics \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/clowder-metrics --shell /usr/sbin/nologin clowder-metrics \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/clowder-metrics \
 && install -d -m 0755 /etc/clowder-metrics
COPY --from=build /out/clowder-ingest /usr/local/bin/clowder-ingest
COPY --from=swagger-ui /out/swagger-ui /usr/share/clowder-metrics/swagger-ui
ENV CLOWDER_INGEST_SWAGGER_UI_DIR=/usr/share/clowder-metrics/swagger-ui
USER 10001:10001
WORKDIR /var/lib/clowder-metrics
VOLUME ["/var/lib/clowder-metrics"]
ENTRYPOINT ["/usr/local/bin/clowder-ingest"]
CMD ["serve", "--env-file", "/etc/clowder-metrics/ingest.env"]
