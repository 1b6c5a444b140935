# SPDX-License-Identifier: Apache-2.0
# The spate binary: api-sim, ingest, sink, serve, verify, schema, query.
# Build:  docker build -f docker/spate.Dockerfile -t spate/spate .
# Stage 1 compiles with the -dev packages; stage 2 is bookworm-slim with the
# runtime libraries only and runs as an unprivileged user.

FROM debian:bookworm-slim AS build
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config \
      librdkafka-dev libcurl4-openssl-dev libjansson-dev libmicrohttpd-dev \
      libyaml-dev libssl-dev liblz4-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY include/ include/
COPY src/ src/
# build helpers CMakeLists.txt calls (the dashboard assets embedder)
COPY scripts/embed-assets.cmake scripts/
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DSPATE_BENCH=OFF \
 && cmake --build /build --target spate -j"$(nproc)" \
 && strip /build/spate

FROM debian:bookworm-slim
ARG DEBIAN_FRONTEND=noninteractive
# Runtime libraries of the binary (librdkafka, libcurl, jansson,
# libmicrohttpd, libyaml, OpenSSL, lz4) and curl for the health checks.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      librdkafka1 libcurl4 libjansson4 libmicrohttpd12 libyaml-0-2 libssl3 liblz4-1 \
      ca-certificates curl tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 spate \
 && useradd --system --uid 10001 --gid spate --home-dir /var/lib/spate --shell /usr/sbin/nologin spate \
 && install -d -o spate -g spate /var/lib/spate
COPY --from=build /build/spate /usr/local/bin/spate
# fail the build, not the container, if a runtime library is missing
RUN ! ldd /usr/local/bin/spate | grep 'not found'
WORKDIR /opt/spate
COPY pipelines/ pipelines/
COPY schema/ schema/
COPY spate.yaml spate.yaml
# Inside a container the endpoints must listen on every interface; the
# state (ingest pagination cursors) goes to the volume at /var/lib/spate.
ENV SPATE_LISTEN=0.0.0.0 \
    SPATE_STATE_DIR=/var/lib/spate \
    SPATE_KAFKA=kafka:9092 \
    SPATE_CASSANDRA=cassandra \
    SPATE_SOURCE_URL=http://api-sim:8088/api/
USER spate
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/spate", "-c", "/opt/spate/spate.yaml"]
CMD ["--help"]
