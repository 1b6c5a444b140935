#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# faults.sh -- the long sink fault test on its OWN stack (other ports, data under /tmp):
# COUNT records (default 1,000,000) with poison records mixed in; Cassandra is killed
# mid-stream, kept down for DOWN_S seconds (default 60) and started again; the sink must
# pause, keep its memory bounded, resume by itself, and in the end every key is stored
# once with the input's values and every poison record is in the DLQ table.
# Too long for the suite (run.sh); run it on demand:
#   SPATE_BIN=build/spate tests/integration/sink/faults.sh
# Env: SPATE_BIN, SPATE_SINK_FAULTS_COUNT, SPATE_SINK_FAULTS_DOWN_S,
#      SPATE_SINK_FAULTS_DIR (default /tmp/spate-sink-faults).
# Prints "N passed, N failed" last.
set -u
BIN=${SPATE_BIN:?SPATE_BIN must point at the spate binary}
BUILD=${SPATE_BUILD:-$(dirname "$BIN")}
DATA="$BUILD/it_sink_data"
COUNT=${SPATE_SINK_FAULTS_COUNT:-1000000}
DOWN_S=${SPATE_SINK_FAULTS_DOWN_S:-60}
DIR=${SPATE_SINK_FAULTS_DIR:-/tmp/spate-sink-faults}
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KS=sink_faults
P="sinkfaults-$(date +%s)"
SEED=$((RANDOM + 1))
BASE=$(($(date +%s) * 1000))
passed=0
failed=0
SINK_PID=
ok() { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && echo "$2" | tail -20 | sed 's/^/     /'; }
# Ports below the ephemeral range (32768+): a client reconnecting to a port in that
# range while nothing listens can connect to itself and then hold the port.
mkdir -p "$DIR"
CFG="$DIR/sink-faults.yaml"
cat >"$CFG" <<EOF
log_level: info
kafka:
  bootstrap_servers: 127.0.0.1:31092
  topic_dlq: $P.dlq
cassandra:
  contact_points: [127.0.0.1]
  port: 31042
  keyspace: $KS
  consistency: ONE
  request_timeout: 5s
stack:
  data_dir: $DIR/state
  kafka_port: 31092
  kafka_controller_port: 31093
  cassandra_port: 31042
  cassandra_storage_port: 31000
  kafka_heap_mb: 512
  cassandra_heap_mb: 1024
  start_timeout: 900
metrics:
  sink_port: 0
EOF
sed -e "s/users\.clean/$P.clean/; s/users\.stats/$P.stats/; s/topic: users\.dlq/topic: $P.dlq/" \
    -e "s/\${SPATE_SINK_GROUP:-spate-sink}/$P-g/" "$HERE/mappings.yaml" >>"$CFG"
spate() { "$BIN" -c "$CFG" "$@"; }
cleanup() {
    [ -n "$SINK_PID" ] && kill -9 "$SINK_PID" 2>/dev/null
    spate stack down >/dev/null 2>&1
    [ "${KEEP:-0}" = 1 ] || rm -rf "$DIR/state"
}
trap cleanup EXIT

t0=$SECONDS
spate stack up || { bad "own stack up"; echo "$passed passed, $failed failed"; exit 1; }
ok "own stack up on 31092/31042 ($((SECONDS - t0)) s)"
spate schema apply >/dev/null && ok "schema apply" || bad "schema apply"
"$DATA" topics --brokers 127.0.0.1:31092 --partitions 6 "$P.clean" "$P.stats" "$P.dlq" >/dev/null
out=$("$DATA" produce --brokers 127.0.0.1:31092 --topic "$P.clean" --count "$COUNT" \
    --seed "$SEED" --base-ms "$BASE" --poison-every 1000 2>&1) && ok "$out" || bad "produce" "$out"

"$BIN" -c "$CFG" sink --idle-exit 30s >"$DIR/sink.log" 2>&1 &
SINK_PID=$!
sleep 30
cpid=$(spate stack status | awk '$1 == "cassandra" {print $2}')
kill -9 "$cpid"
echo "# killed Cassandra (pid $cpid) at $(date -u +%T); down for $DOWN_S s"
maxrss=0
for _ in $(seq 1 "$DOWN_S"); do
    sleep 1
    r=$(awk '/VmRSS/ {print $2}' "/proc/$SINK_PID/status" 2>/dev/null || echo 0)
    [ "${r:-0}" -gt "$maxrss" ] && maxrss=$r
done
if kill -0 "$SINK_PID" 2>/dev/null; then ok "sink alive through the outage"; else bad "sink died during the outage" "$(tail "$DIR/sink.log")"; fi
grep -q "Cassandra unavailable" "$DIR/sink.log" && ok "sink noticed and paused consumption" ||
    bad "no pause logged" "$(tail "$DIR/sink.log")"
[ "$maxrss" -lt 131072 ] && ok "memory bounded during the outage (max RSS $((maxrss / 1024)) MB)" ||
    bad "RSS grew to $((maxrss / 1024)) MB during the outage"
t1=$SECONDS
out=$(spate stack up 2>&1) && ok "Cassandra restarted ($((SECONDS - t1)) s)" || bad "restart Cassandra" "$out"
wait "$SINK_PID"; rc=$?
SINK_PID=
[ $rc -eq 0 ] && ok "sink resumed by itself and finished: $(grep 'spate sink: ' "$DIR/sink.log" | cut -c1-150)" ||
    bad "sink exit $rc" "$(tail "$DIR/sink.log")"
grep -q "Cassandra is back" "$DIR/sink.log" && ok "resume logged: $(grep -o 'Cassandra is back after [0-9.]* s' "$DIR/sink.log" | head -1)" ||
    bad "no resume logged" "$(grep -v CONFWARN "$DIR/sink.log" | tail -5)"
out=$("$DATA" verify --host 127.0.0.1 --port 31042 --keyspace "$KS" --count "$COUNT" \
    --seed "$SEED" --base-ms "$BASE" --poison-every 1000 --dlq 2>&1)
rc=$?
echo "$out" | grep -E '^(ok|FAIL|     )' | sed 's/^/  /'
[ $rc -eq 0 ] && ok "after the outage: every key once with its values, poison in the DLQ table" ||
    bad "verification after the outage" "$out"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
