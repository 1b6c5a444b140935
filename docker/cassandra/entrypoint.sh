#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Cassandra container entrypoint: write cassandra.yaml and logback.xml from
# the environment and exec the daemon in the foreground.
#
#   CASSANDRA_HEAP_MB              JVM heap                           (768)
#   CASSANDRA_BROADCAST_RPC        address given to clients           (this container's IP)
#   CASSANDRA_AUTHENTICATOR        AllowAllAuthenticator | PasswordAuthenticator
#
# commitlog_sync batch: this one node is the only copy and the sink commits
# past a record on its acknowledgement, so an acknowledged row must survive
# the container being killed (periodic forgot the last ~100 ms).
#
# One node: gossip and storage stay on 127.0.0.1, so the node's identity does
# not change when a new container gets a new IP; clients use port 9042 on
# every interface.
set -euo pipefail
LIB=/opt/spate/lib/cassandra
DATA=/var/lib/cassandra
CONF=/tmp/cassandra-conf
mkdir -p "$CONF" "$DATA"/{data,commitlog,saved_caches,hints,cdc_raw}
HEAP=${CASSANDRA_HEAP_MB:-768}
RPC=${CASSANDRA_BROADCAST_RPC:-$(hostname -i | awk '{print $1}')}

cat >"$CONF/cassandra.yaml" <<YAML
cluster_name: spate
num_tokens: 16
allocate_tokens_for_local_replication_factor: 1
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
data_file_directories:
  - ${DATA}/data
commitlog_directory: ${DATA}/commitlog
saved_caches_directory: ${DATA}/saved_caches
hints_directory: ${DATA}/hints
cdc_raw_directory: ${DATA}/cdc_raw
commitlog_sync: batch
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "127.0.0.1:7000"
listen_address: 127.0.0.1
rpc_address: 0.0.0.0
broadcast_rpc_address: ${RPC}
storage_port: 7000
native_transport_port: 9042
start_native_transport: true
endpoint_snitch: SimpleSnitch
authenticator: ${CASSANDRA_AUTHENTICATOR:-AllowAllAuthenticator}
authorizer: AllowAllAuthorizer
auto_snapshot: false
disk_failure_policy: stop
commit_failure_policy: stop
concurrent_reads: 16
concurrent_writes: 32
concurrent_counter_writes: 16
native_transport_max_threads: 64
memtable_heap_space: 128MiB
memtable_offheap_space: 128MiB
key_cache_size: 32MiB
write_request_timeout: 5000ms
read_request_timeout: 10000ms
range_request_timeout: 20000ms
request_timeout: 20000ms
batch_size_warn_threshold: 64KiB
batch_size_fail_threshold: 640KiB
# the sink batches rows by replica, not by partition
unlogged_batch_across_partitions_warn_threshold: 1000
YAML

cat >"$CONF/logback.xml" <<'XML'
<configuration scan="false">
  <appender name="OUT" class="ch.qos.logback.core.ConsoleAppender">
    <encoder><pattern>%-5level [%thread] %date{ISO8601} %F:%L - %msg%n</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="OUT"/></root>
</configuration>
XML

JAMM=$(ls "$LIB"/jamm-*.jar | head -1)
# Module access Cassandra 5.0 and its libraries need on Java 17.
JDK17=()
for e in java.base/jdk.internal.misc java.base/jdk.internal.ref java.base/sun.nio.ch \
         java.management.rmi/com.sun.jmx.remote.internal.rmi java.rmi/sun.rmi.registry \
         java.rmi/sun.rmi.server java.sql/java.sql; do
  JDK17+=(--add-exports "$e=ALL-UNNAMED")
done
for o in java.base/java.lang.module java.base/jdk.internal.loader java.base/jdk.internal.ref \
         java.base/jdk.internal.reflect java.base/jdk.internal.math java.base/jdk.internal.module \
         java.base/jdk.internal.util.jar jdk.management/com.sun.management.internal \
         java.base/sun.nio.ch java.base/java.io java.base/java.nio java.base/java.util.concurrent \
         java.base/java.util java.base/java.util.concurrent.atomic java.base/java.lang \
         java.base/java.math java.base/java.lang.reflect java.base/java.net; do
  JDK17+=(--add-opens "$o=ALL-UNNAMED")
done

exec java -Xms"${HEAP}m" -Xmx"${HEAP}m" -Xss256k -XX:+UseG1GC -XX:MaxGCPauseMillis=200 \
     -XX:+ParallelRefProcEnabled -XX:+HeapDumpOnOutOfMemoryError -XX:HeapDumpPath=/tmp \
     "${JDK17[@]}" -javaagent:"$JAMM" -Djdk.attach.allowAttachSelf=true \
     -Djava.net.preferIPv4Stack=true -Dio.netty.tryReflectionSetAccessible=true \
     -Dcassandra.config=file://"$CONF"/cassandra.yaml -Dcassandra.storagedir="$DATA" \
     -Dcassandra.logdir=/tmp -Dlogback.configurationFile="$CONF"/logback.xml \
     -Dcassandra-foreground=yes -Dcassandra.skip_wait_for_gossip_to_settle=0 \
     -Dcassandra.superuser_setup_delay_ms=0 -Dcassandra.ring_delay_ms=1000 \
     -Dcassandra.approximate_time_precision_ms=20 \
     -cp "$LIB/*" org.apache.cassandra.service.CassandraDaemon
