# SPDX-License-Identifier: Apache-2.0
# Kafka (KRaft, one process = broker + controller) from the same jars the
# local stack runs: deps/lib/kafka, resolved by scripts/setup from
# deps/pom.xml (run `scripts/setup` first; versions are pinned there only).
# Build:  docker build -f docker/kafka.Dockerfile -t spate/kafka .
FROM debian:bookworm-slim
ARG DEBIAN_FRONTEND=noninteractive
# The same first layer as the cassandra and spark images, so it is shared.
RUN mkdir -p /usr/share/man/man1 \
 && apt-get update \
 && apt-get install -y --no-install-recommends openjdk-17-jre-headless tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 spate \
 && useradd --system --uid 10001 --gid spate --home-dir /var/lib/spate --shell /usr/sbin/nologin spate
COPY deps/lib/kafka/ /opt/spate/lib/kafka/
COPY docker/kafka/entrypoint.sh docker/kafka/healthcheck.sh /usr/local/bin/
RUN install -d -o spate -g spate /var/lib/kafka
VOLUME /var/lib/kafka
USER spate
EXPOSE 9092 29092
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/entrypoint.sh"]
HEALTHCHECK --interval=5s --timeout=20s --start-period=600s --retries=6 CMD ["/usr/local/bin/healthcheck.sh"]
