#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# foundation.sh -- the stack, the config errors and a Kafka/Spark/Cassandra
# round trip, against the stack tests/integration/run brought up.
set -uo pipefail
cd "$SPATE_ROOT"
passed=0
failed=0
TMP="$(mktemp -d /tmp/spate-it-foundation.XXXXXX)"
BG_PIDS=()
trap 'for p in "${BG_PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done; rm -rf "$TMP"' EXIT

ok() { echo "ok   $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1"; failed=$((failed + 1)); }

# expect_config_error NAME YAML EXPECTED-SUBSTRING
expect_config_error() {
  printf '%s' "$2" >"$TMP/$1.yaml"
  local out rc
  out="$("$SPATE_BIN" -c "$TMP/$1.yaml" stack status 2>&1)"; rc=$?
  if [ "$rc" -eq 2 ] && [[ "$out" == *"$3"* ]]; then
    ok "bad config ($1): exit 2, '$3'"
  else
    bad "bad config ($1): want exit 2 and '$3', got exit $rc: $out"
  fi
}

# ---- configuration errors from the binary itself ----------------------------
expect_config_error unknown-key $'kafka:\n  partitions: 3\n  bootstrap: x\n' \
  "$TMP/unknown-key.yaml:3: kafka.bootstrap: unknown key"
expect_config_error wrong-type $'stack:\n  kafka_port: ninety\n' \
  "stack.kafka_port: expected an integer, got 'ninety'"
expect_config_error out-of-range $'stack:\n  cassandra_heap_mb: 12\n' \
  "stack.cassandra_heap_mb: value 12 out of range [256, 65536]"
expect_config_error missing-required $'sources:\n  - name: x\n' \
  "sources[0].url: missing required value"
expect_config_error bad-enum $'cassandra:\n  consistency: MOST\n' \
  "cassandra.consistency: 'MOST' is not one of"
expect_config_error unset-env $'kafka:\n  bootstrap_servers: ${SPATE_IT_NOT_SET}\n' \
  "environment variable SPATE_IT_NOT_SET is not set"
expect_config_error yaml-syntax $'kafka: [\n' "YAML syntax error"
out="$("$SPATE_BIN" -c "$TMP/absent.yaml" stack status 2>&1)"; rc=$?
if [ $rc -eq 2 ] && [[ "$out" == *"absent.yaml: cannot open"* ]]; then ok "missing config file: exit 2";
else bad "missing config file: exit $rc: $out"; fi
out="$("$SPATE_BIN" frobnicate 2>&1)"; rc=$?
if [ $rc -eq 2 ] && [[ "$out" == *"unknown command 'frobnicate'"* ]]; then ok "unknown command: exit 2";
else bad "unknown command: exit $rc: $out"; fi
out="$("$SPATE_BIN" stack up --turbo 2>&1)"; rc=$?
if [ $rc -eq 2 ] && [[ "$out" == *"'--turbo'"* ]]; then ok "unknown option: exit 2";
else bad "unknown option: exit $rc: $out"; fi

# ---- a port taken by something else fails fast, naming the port -------------
PORT=$(( 30000 + RANDOM % 5000 ))
python3 -c "import socket,time,sys
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $PORT)); s.listen(1); print('ready', flush=True); time.sleep(120)" >"$TMP/holder.out" &
BG_PIDS+=($!)
for _ in $(seq 50); do grep -q ready "$TMP/holder.out" 2>/dev/null && break; sleep 0.1; done
cat >"$TMP/taken.yaml" <<YAML
stack:
  data_dir: $TMP/taken-state
  kafka_port: $PORT
  kafka_controller_port: $((PORT + 1))
  cassandra_port: $((PORT + 2))
  cassandra_storage_port: $((PORT + 3))
YAML
t0=$(date +%s%N)
out="$("$SPATE_BIN" -c "$TMP/taken.yaml" stack up 2>&1)"; rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
if [ $rc -ne 0 ] && [[ "$out" == *"port $PORT"*"already in use"* ]] && [ $ms -lt 5000 ]; then
  ok "stack up with the Kafka port taken fails in ${ms} ms naming port $PORT"
else
  bad "port taken: exit $rc after ${ms} ms: $out"
fi
kill "${BG_PIDS[0]}" 2>/dev/null; wait "${BG_PIDS[0]}" 2>/dev/null; BG_PIDS=()

# ---- a stale pid file is detected and cleaned --------------------------------
mkdir -p "$TMP/stale-state/kafka"
sh -c 'exit 0' & dead=$!; wait $dead
echo "$dead" >"$TMP/stale-state/kafka/pid"
printf 'stack:\n  data_dir: %s/stale-state\n  kafka_port: %d\n  kafka_controller_port: %d\n' \
  "$TMP" $((PORT + 10)) $((PORT + 11)) >"$TMP/stale.yaml"
out="$("$SPATE_BIN" -c "$TMP/stale.yaml" stack status 2>&1)"
if [[ "$out" == *"kafka"*"stale"* ]]; then ok "status reports a stale pid file"; else bad "stale status: $out"; fi
"$SPATE_BIN" -c "$TMP/stale.yaml" stack down >/dev/null 2>&1
if [ ! -f "$TMP/stale-state/kafka/pid" ]; then ok "down removes the stale pid file"; else bad "stale pid file left"; fi

# ---- the running stack -------------------------------------------------------
out="$("$SPATE_BIN" -c "$SPATE_CONFIG" stack status 2>&1)"; rc=$?
if [ $rc -eq 0 ] && [ "$(grep -c ' ready ' <<<"$out")" -eq 2 ]; then ok "status: both services ready";
else bad "status: exit $rc: $out"; fi
# The stack's data (users' records, logs, credentials) is the user's alone (issue 16).
# (what Kafka creates inside kafka/ is its own; the folders spate creates are checked)
modes="$(stat -c '%a %n' "$SPATE_IT_STATE" "$SPATE_IT_STATE"/kafka "$SPATE_IT_STATE"/cassandra \
  "$SPATE_IT_STATE"/cassandra/data 2>&1)"
if [ -n "$modes" ] && ! grep -qv '^700 ' <<<"$modes"; then ok "stack data folders are 0700"
else bad "stack data folders: $(tr '\n' ' ' <<<"$modes")"; fi
# Logs of scripts/setup go to a mktemp folder, never to a fixed /tmp path (issue 16).
fixed="$(grep -nE '/tmp/[A-Za-z]' "$SPATE_ROOT/scripts/setup" | grep -v XXXXXX)"
if [ -z "$fixed" ]; then ok "scripts/setup uses no fixed /tmp path"
else bad "scripts/setup uses fixed /tmp paths: $fixed"; fi
t0=$(date +%s%N)
out="$("$SPATE_BIN" -c "$SPATE_CONFIG" stack up 2>&1)"; rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
if [ $rc -eq 0 ] && [[ "$out" == *"already running"* ]]; then ok "second stack up is harmless (${ms} ms)";
else bad "second up: exit $rc: $out"; fi

TOPIC="it-foundation-$SPATE_RUN_ID"
if "$SPATE_BUILD/it_kafka_roundtrip" "$SPATE_KAFKA" "$TOPIC" 100000; then
  ok "kafka: 6-partition topic by admin API, 100000 idempotent acks=all messages consumed back"
  if "$SPATE_PY" tests/integration/foundation/spark_count.py "$SPATE_KAFKA" "$TOPIC" 100000 2>"$TMP/spark.err"; then
    ok "spark: batch Kafka read in local mode counts 100000"
  else
    bad "spark batch read"; tail -20 "$TMP/spark.err"
  fi
else
  bad "kafka round trip"
fi

if "$SPATE_BUILD/it_cql_startup" "$SPATE_CASSANDRA_HOST" "$SPATE_CASSANDRA_PORT"; then
  ok "cassandra: CQL STARTUP/READY"
else
  bad "cassandra: CQL STARTUP/READY"
fi

# Cassandra killed with -9 mid-write keeps every row it acknowledged: the
# sink commits past a record on that acknowledgement alone. With
# commitlog_sync periodic the node forgot its last ~100 ms of rows. The kill
# is followed at once by `spate stack up`, as a user would type it.
KS="it_acked_${SPATE_RUN_ID//-/_}"
"$SPATE_BUILD/it_cql_acked" write "$SPATE_CASSANDRA_HOST" "$SPATE_CASSANDRA_PORT" "$KS" \
  "$TMP/acked" >"$TMP/acked.out" 2>&1 &
W=$!
for _ in $(seq 1 100); do grep -q ready "$TMP/acked.out" 2>/dev/null && break; sleep 0.2; done
if grep -q ready "$TMP/acked.out"; then
  sleep 3
  kill -9 "$(cat "$SPATE_IT_STATE/cassandra/pid")"
  wait "$W"; wrc=$?
  "$SPATE_BIN" -c "$SPATE_CONFIG" stack up >"$TMP/acked-up.out" 2>&1; urc=$?
  out="$("$SPATE_BUILD/it_cql_acked" check "$SPATE_CASSANDRA_HOST" "$SPATE_CASSANDRA_PORT" \
    "$KS" "$TMP/acked" 2>&1)"; rc=$?
  if [ $wrc -eq 0 ] && [ $urc -eq 0 ] && [ $rc -eq 0 ]; then
    ok "cassandra kill -9 mid-write, stack up at once: $out"
  else
    bad "cassandra kill -9 mid-write (writer exit $wrc, stack up exit $urc): $out $(tail -3 "$TMP/acked.out") $(tail -2 "$TMP/acked-up.out")"
  fi
  "$SPATE_BIN" -c "$SPATE_CONFIG" cql -e "DROP KEYSPACE IF EXISTS $KS" >/dev/null 2>&1
else
  kill "$W" 2>/dev/null; wait "$W" 2>/dev/null
  bad "cassandra kill -9 mid-write: the writer did not start: $(tail -3 "$TMP/acked.out")"
fi

echo "foundation: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
