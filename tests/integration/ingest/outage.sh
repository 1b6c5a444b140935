#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# outage.sh -- `spate ingest` rides out a Kafka broker stopped for 20 s mid-run:
# nothing lost, nothing duplicated. Destructive, so it runs its OWN single-node KRaft
# broker (ports 19092/19093, data in /tmp/spate-ingest-kafka), never the shared one.
#
# Environment: SPATE_BIN, SPATE_BUILD (it_ingest_verify), KAFKA_LIB (default
# deps/lib/kafka), OUTAGE_S (default 20). Prints "N passed, N failed".
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
SPATE_BIN="${SPATE_BIN:-$ROOT/build/spate}"
SPATE_BUILD="${SPATE_BUILD:-$(dirname "$SPATE_BIN")}"
KAFKA_LIB="${KAFKA_LIB:-$ROOT/deps/lib/kafka}"
OUTAGE_S="${OUTAGE_S:-20}"
PORT=19092
CPORT=19093
DIR=/tmp/spate-ingest-kafka
BOOT="127.0.0.1:$PORT"
RUN="$(date +%s)-$$"
passed=0
failed=0
KPID=""
APID=""
IPID=""

ok() { echo "ok   $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1"; failed=$((failed + 1)); }

stop() { # stop PID: SIGTERM, then SIGKILL after 30 s
  [ -z "$1" ] && return 0
  kill "$1" 2>/dev/null || return 0
  for _ in $(seq 1 300); do
    kill -0 "$1" 2>/dev/null || break
    sleep 0.1
  done
  kill -9 "$1" 2>/dev/null
  wait "$1" 2>/dev/null
  return 0
}

cleanup() {
  stop "$IPID"
  stop "$APID"
  stop "$KPID"
  [ "$failed" -eq 0 ] && rm -rf "$DIR" # keep the logs of a failed run
}
trap cleanup EXIT

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if port_open $PORT || port_open $CPORT; then
  bad "ports $PORT/$CPORT are free for the private broker"
  echo "$passed passed, $failed failed"
  exit 1
fi

start_kafka() {
  java -Xms512m -Xmx512m -XX:+UseG1GC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
    -Dkafka.logs.dir="$DIR/logs" -cp "$KAFKA_LIB/*" kafka.Kafka "$DIR/server.properties" \
    >>"$DIR/logs/stdout.log" 2>&1 &
  KPID=$!
  for _ in $(seq 1 600); do
    port_open $PORT && return 0
    kill -0 "$KPID" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

rm -rf "$DIR"
mkdir -p "$DIR/data" "$DIR/logs"
cat >"$DIR/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$CPORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$DIR/data
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
min.insync.replicas=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=2
EOF
java -Xmx256m -cp "$KAFKA_LIB/*" kafka.tools.StorageTool format --standalone \
  --cluster-id "$(python3 -c 'import base64,uuid; print(base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="))')" \
  --config "$DIR/server.properties" >"$DIR/logs/format.log" 2>&1 || bad "format private Kafka storage"
if start_kafka; then ok "private Kafka on $BOOT is up"; else
  bad "private Kafka starts (see $DIR/logs/stdout.log)"
  echo "$passed passed, $failed failed"
  exit 1
fi

APORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$SPATE_BIN" api-sim --port "$APORT" --latency 30ms >"$DIR/logs/apisim.log" 2>&1 &
APID=$!
sleep 1
cat >"$DIR/ingest.yaml" <<EOF
log_level: warn
kafka:
  bootstrap_servers: $BOOT
  partitions: 3
sources:
  - name: outage
    url: http://127.0.0.1:$APORT/api/
    seed: outage-$RUN
    batch_size: 500
    concurrency: 2
    pagination:
      style: page
stack:
  data_dir: $DIR/state
EOF
T="it-ingest-outage-$RUN"
PAGES=300
"$SPATE_BIN" -c "$DIR/ingest.yaml" ingest --metrics-port 0 --topic-raw "$T" --topic-dlq "$T.dlq" \
  --max-records $((PAGES * 500)) >"$DIR/ingest.out" 2>"$DIR/ingest.err" &
IPID=$!
sleep 8
echo "  stopping the broker for ${OUTAGE_S}s"
stop "$KPID"
KPID=""
sleep "$OUTAGE_S"
if start_kafka; then ok "broker restarted after ${OUTAGE_S}s"; else bad "broker restarts"; fi
wait "$IPID"
rc=$?
IPID=""
echo "  $(cat "$DIR/ingest.out")"
"$SPATE_BUILD/it_ingest_verify" --bootstrap "$BOOT" --topic "$T" --seed "outage-$RUN" \
  --pages "$PAGES" --batch 500 >"$DIR/verify.out" 2>&1
vrc=$?
sed 's/^/  /' "$DIR/verify.out"
if [ $rc -eq 0 ] && [ $vrc -eq 0 ]; then
  ok "broker down ${OUTAGE_S}s mid-run: $((PAGES * 500)) records, none lost, none twice"
else
  bad "broker outage (ingest rc=$rc, verify rc=$vrc)"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
