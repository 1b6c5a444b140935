# SPDX-License-Identifier: Apache-2.0
# Spark 4.2.0 from the pyspark wheel (the same pin as scripts/setup), plus the
# Kafka connector jars of deps/lib/spark and the spate job (spark/ driver and
# pipelines/ SQL). One image, three roles: master, worker, job.
# Build:  docker build -f docker/spark.Dockerfile -t spate/spark .
# docker/wheels/ may hold pre-built pyspark/py4j wheels (scripts/container-test
# stages them from the local pip cache); otherwise pip fetches them from PyPI.

FROM debian:bookworm-slim AS wheels
ARG DEBIAN_FRONTEND=noninteractive
ARG PYSPARK_VERSION=4.2.0
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY docker/wheels/ /wheels/
# PIP_OFFLINE=1: install from docker/wheels only (no PyPI at all)
ARG PIP_OFFLINE=0
RUN python3 -m venv /opt/spark-venv \
 && if [ "$PIP_OFFLINE" = 1 ]; then idx=--no-index; else idx=; fi \
 && /opt/spark-venv/bin/pip install --no-cache-dir --no-compile $idx --find-links /wheels \
      "pyspark==${PYSPARK_VERSION}" \
 && rm -rf /opt/spark-venv/lib/python3*/site-packages/pip* \
           /opt/spark-venv/lib/python3*/site-packages/setuptools* \
           /opt/spark-venv/lib/python3*/site-packages/_distutils_hack \
           /opt/spark-venv/lib/python3*/site-packages/distutils-precedence.pth

FROM debian:bookworm-slim
ARG DEBIAN_FRONTEND=noninteractive
# The same first layer as the kafka and cassandra images, so it is shared.
RUN mkdir -p /usr/share/man/man1 \
 && apt-get update \
 && apt-get install -y --no-install-recommends openjdk-17-jre-headless tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 spate \
 && useradd --system --uid 10001 --gid spate --home-dir /var/lib/spate --shell /usr/sbin/nologin spate
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 procps \
 && rm -rf /var/lib/apt/lists/*
COPY --from=wheels /opt/spark-venv /opt/spark-venv
ENV SPARK_HOME=/opt/spark-venv/lib/python3.11/site-packages/pyspark \
    PYSPARK_PYTHON=/opt/spark-venv/bin/python \
    PATH=/opt/spark-venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    SPARK_NO_DAEMONIZE=1
COPY deps/lib/spark/ /opt/spate/lib/spark/
COPY spark/ /opt/spate/spark/
COPY pipelines/ /opt/spate/pipelines/
COPY docker/spark/entrypoint.sh docker/spark/healthcheck.sh /usr/local/bin/
RUN install -d -o spate -g spate /var/lib/spate /var/lib/spate/checkpoints /var/lib/spate/work \
 && test -x "$SPARK_HOME/bin/spark-class"
VOLUME /var/lib/spate/checkpoints
WORKDIR /opt/spate
USER spate
EXPOSE 7077 8080 8081
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/entrypoint.sh"]
CMD ["job"]
