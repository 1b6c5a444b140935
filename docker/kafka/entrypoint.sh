#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Kafka container entrypoint: write server.properties from the environment,
# format the KRaft metadata log on the first start (the volume keeps it),
# then exec the broker in the foreground so signals reach it.
#
#   KAFKA_ADVERTISED_HOST   name clients inside the network use   (kafka)
#   KAFKA_EXTERNAL_HOST     name/IP clients outside use           (127.0.0.1)
#   KAFKA_EXTERNAL_PORT     port published for them               (29092)
#   KAFKA_NUM_PARTITIONS    default partitions of new topics      (6)
#   KAFKA_HEAP_MB           JVM heap                              (512)
#   KAFKA_CLUSTER_ID        cluster id used when formatting       (random)
set -euo pipefail
LIB=/opt/spate/lib/kafka
DATA=/var/lib/kafka
CONF=/tmp/kafka-conf
mkdir -p "$CONF" "$DATA/data"
ADV=${KAFKA_ADVERTISED_HOST:-kafka}
EXT_HOST=${KAFKA_EXTERNAL_HOST:-127.0.0.1}
EXT_PORT=${KAFKA_EXTERNAL_PORT:-29092}
HEAP=${KAFKA_HEAP_MB:-512}

cat >"$CONF/server.properties" <<PROPS
# single-node KRaft: this process is broker and controller
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:9093
listeners=PLAINTEXT://0.0.0.0:9092,EXTERNAL://0.0.0.0:29092,CONTROLLER://127.0.0.1:9093
advertised.listeners=PLAINTEXT://${ADV}:9092,EXTERNAL://${EXT_HOST}:${EXT_PORT}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,EXTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=${DATA}/data
num.partitions=${KAFKA_NUM_PARTITIONS:-6}
default.replication.factor=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=12
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
min.insync.replicas=1
group.initial.rebalance.delay.ms=0
metadata.max.idle.interval.ms=5000
auto.create.topics.enable=true
log.retention.hours=168
num.network.threads=2
num.io.threads=4
PROPS

cat >"$CONF/log4j2.properties" <<'PROPS'
status = warn
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.out.ref = out
logger.kafka_req.name = kafka.request.logger
logger.kafka_req.level = warn
logger.state.name = state.change.logger
logger.state.level = warn
PROPS

CP="$LIB/*"
JAVA_LOG="-Dlog4j2.configurationFile=$CONF/log4j2.properties"
if [ ! -f "$DATA/data/meta.properties" ]; then
  id=${KAFKA_CLUSTER_ID:-}
  # a leading '-' would be taken for an option by kafka-storage: draw again
  while [ -z "$id" ] || [ "${id#-}" != "$id" ]; do
    id=$(head -c16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
  done
  echo "kafka: formatting storage (first start, cluster id $id)"
  java -Xmx256m "$JAVA_LOG" -cp "$CP" kafka.tools.StorageTool format --standalone \
       --cluster-id "$id" --config "$CONF/server.properties"
fi

exec java -Xms"${HEAP}m" -Xmx"${HEAP}m" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
     -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent \
     -XX:TieredStopAtLevel=1 -Djava.awt.headless=true "$JAVA_LOG" \
     -cp "$CP" kafka.Kafka "$CONF/server.properties"
