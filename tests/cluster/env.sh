# SPDX-License-Identifier: Apache-2.0
# env.sh -- spate.yaml pointed at the local 3-node cluster of tests/cluster/run:
# its own ports (39xxx, clear of the integration run's), state folder, keyspace
# and consumer group. Source it: `. tests/cluster/env.sh; build/spate stack up`.
export SPATE_STACK_NODES=3
export SPATE_STATE_DIR="${SPATE_CLUSTER_STATE:-$PWD/build/cluster-state}"
export SPATE_KAFKA_PORT=39092 SPATE_KAFKA_CONTROLLER_PORT=39093
export SPATE_KAFKA=127.0.0.1:39092,127.0.0.2:39092,127.0.0.3:39092
export SPATE_KAFKA_REPLICATION=3 SPATE_KAFKA_MIN_INSYNC=2
export SPATE_CASSANDRA=127.0.0.1,127.0.0.2,127.0.0.3
export SPATE_CASSANDRA_PORT=39042 SPATE_CASSANDRA_STORAGE_PORT=39000
export SPATE_CASSANDRA_REPLICATION=3
export SPATE_KEYSPACE=spate_cluster SPATE_SINK_GROUP=spate-sink-cluster
# six JVMs and Spark on one small machine
export SPATE_KAFKA_HEAP_MB="${SPATE_KAFKA_HEAP_MB:-320}"
export SPATE_CASSANDRA_HEAP_MB="${SPATE_CASSANDRA_HEAP_MB:-640}"
export SPATE_STACK_START_TIMEOUT=400   # per phase; nodes join one at a time
export SPATE_APISIM_PORT=39088 SPATE_INGEST_METRICS_PORT=39401 SPATE_SINK_METRICS_PORT=39402
export SPATE_SERVE_PORT=39080
export SPATE_SOURCE_URL="http://127.0.0.1:${SPATE_APISIM_PORT}/api/"
