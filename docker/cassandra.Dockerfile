# SPDX-License-Identifier: Apache-2.0
# Cassandra 5.0 (one node) from the same jars the local stack runs:
# deps/lib/cassandra, resolved by scripts/setup from deps/pom.xml.
# Build:  docker build -f docker/cassandra.Dockerfile -t spate/cassandra .
FROM debian:bookworm-slim
ARG DEBIAN_FRONTEND=noninteractive
# The same first layer as the kafka and spark images, so it is shared.
RUN mkdir -p /usr/share/man/man1 \
 && apt-get update \
 && apt-get install -y --no-install-recommends openjdk-17-jre-headless tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 spate \
 && useradd --system --uid 10001 --gid spate --home-dir /var/lib/spate --shell /usr/sbin/nologin spate
COPY deps/lib/cassandra/ /opt/spate/lib/cassandra/
COPY docker/cassandra/entrypoint.sh docker/cassandra/healthcheck.sh /usr/local/bin/
RUN install -d -o spate -g spate /var/lib/cassandra
VOLUME /var/lib/cassandra
USER spate
EXPOSE 9042
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/entrypoint.sh"]
HEALTHCHECK --interval=5s --timeout=20s --start-period=600s --retries=6 CMD ["/usr/local/bin/healthcheck.sh"]
