#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# run.sh -- `spate schema` and `spate sink` against the real Kafka and Cassandra of the
# test stack (the lead's runner calls this). Own keyspace and topics per run.
#
# Env: SPATE_BIN, SPATE_KAFKA, SPATE_CASSANDRA_HOST, SPATE_CASSANDRA_PORT, SPATE_RUN_ID,
# SPATE_BUILD (where it_sink_data is; default: next to SPATE_BIN).
# Optional: SPATE_SINK_IT_COUNT (records, default 1000000, as issue 6 asks), SPATE_SINK_IT_METRICS_PORT,
# SPATE_SINK_IT_ONLY (case names, see the end of the cases).
# Prints "N passed, N failed" last and exits non-zero on any failure.
set -u
BIN=${SPATE_BIN:?SPATE_BIN must point at the spate binary}
BUILD=${SPATE_BUILD:-$(dirname "$BIN")}
DATA="$BUILD/it_sink_data"
KAFKA=${SPATE_KAFKA:-127.0.0.1:9092}
CHOST=${SPATE_CASSANDRA_HOST:-127.0.0.1}
CPORT=${SPATE_CASSANDRA_PORT:-9042}
RUN=${SPATE_RUN_ID:-$(date +%s)-$$}
COUNT=${SPATE_SINK_IT_COUNT:-1000000}
MPORT=${SPATE_SINK_IT_METRICS_PORT:-29452}
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TAG=$(echo "$RUN" | tr -c 'a-zA-Z0-9\n' '_' | tail -c 24)
KS="sink_it_$TAG"
P="sinkit-$TAG"
SEED=$((RANDOM + 1))
BASE=$(($(date +%s) * 1000))
POISON_EVERY=1000
WORK=$(mktemp -d /tmp/spate-sink-it.XXXXXX)
passed=0
failed=0
PIDS=()
ok() { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && echo "$2" | tail -20 | sed 's/^/     /'; }

cleanup() {
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    "$BIN" -c "$WORK/sink.yaml" cql -e "DROP KEYSPACE IF EXISTS $KS" >/dev/null 2>&1
    rm -rf "$WORK"
}
trap cleanup EXIT

# A config for this run: the test stack, our keyspace, topics and group, the
# default mappings with our topic names.
write_config() { # file group [extra-mappings-file]
    cat >"$1" <<EOF
log_level: info
kafka:
  bootstrap_servers: $KAFKA
  topic_dlq: $P.dlq
  properties:
    session.timeout.ms: "6000"
    heartbeat.interval.ms: "500"
cassandra:
  contact_points: [$CHOST]
  port: $CPORT
  keyspace: $KS
  consistency: ONE
metrics:
  sink_port: 0
EOF
    if [ -n "${3:-}" ]; then cat "$3" >>"$1"; return; fi
    sed -e "s/users\.clean/$P.clean/; s/users\.stats/$P.stats/; s/topic: users\.dlq/topic: $P.dlq/" \
        -e "s/\${SPATE_SINK_GROUP:-spate-sink}/$2/" "$HERE/mappings.yaml" >>"$1"
}
write_config "$WORK/sink.yaml" "$P-g"
# background instances run the binary itself, so $! is its pid (for kill -9)
SINK=("$BIN" -c "$WORK/sink.yaml" sink)
cql() { "$BIN" -c "$WORK/sink.yaml" cql -k "$KS" "$@"; }

# A keyspace, topics and group of its own for case $1, and a config for them in
# $WORK/$1.yaml; the keyspace name is in KSX.
own_setup() { # name
    KSX="${KS}_$1"
    sed -e "s/keyspace: $KS\$/keyspace: $KSX/" -e "s/$P\\./$P-$1./g" -e "s/$P-g/$P-$1-g/" \
        "$WORK/sink.yaml" >"$WORK/$1.yaml"
    "$BIN" -c "$WORK/sink.yaml" schema apply --keyspace "$KSX" >/dev/null
    "$DATA" topics --brokers "$KAFKA" --partitions 2 "$P-$1.clean" "$P-$1.stats" "$P-$1.dlq" >/dev/null
}
metric() { # port name-with-labels: the value, or empty
    curl -s "http://127.0.0.1:$1/metrics" | awk -v n="$2" '$1 == n {print $2}'
}

# ---- a poison record whose DLQ envelope is larger than message.max.bytes: 500 KB
# that are not UTF-8 double as hex. The sink used to retry the produce by
# recursion for ever; now the envelope is cut to fit (reason, key, size and hash
# kept), stored in the DLQ, and the sink moves on and commits past it.
case_big_poison() {
    own_setup big
    local ks=$KSX
    python3 -c 'import sys; sys.stdout.buffer.write(b"big-poison\t" + bytes(0x80 + i % 0x7f for i in range(500 * 1024)) + b"\n")' |
        "$DATA" lines --brokers "$KAFKA" --topic "$P-big.clean" >/dev/null
    "$DATA" produce --brokers "$KAFKA" --topic "$P-big.clean" --count 500 --seed "$SEED" \
        --base-ms "$BASE" >/dev/null 2>&1
    timeout -k 10 180 "$BIN" -c "$WORK/big.yaml" sink -q --idle-exit 8s --metrics-port 0 >"$WORK/big.log" 2>&1
    local rc=$?
    local line
    line=$(grep 'spate sink: ' "$WORK/big.log" | tail -1)
    out=$("$BIN" -c "$WORK/big.yaml" cql -k "$ks" --json \
        -e "SELECT stage, reason, record_key, raw FROM rejected_by_day WHERE day = '$(date -u +%F)'" 2>&1 |
        python3 -c '
import json, sys
for l in sys.stdin:
    r = json.loads(l)
    if r.get("record_key") == "big-poison":
        print(r["stage"], len(r["raw"]), r["raw"][:10], r["reason"])')
    vout=$("$DATA" verify --host "$CHOST" --port "$CPORT" --keyspace "$ks" --count 500 \
        --seed "$SEED" --base-ms "$BASE" 2>&1)
    local vrc=$?
    set -- $out
    if [ $rc -eq 0 ] && [ "${1:-}" = sink ] && [ "${2:-0}" -gt 100000 ] && [ "${2:-0}" -lt 1000000 ] &&
        [ "${3:-}" = 0x80818283 ] && echo "$out" | grep -q "primary key column is missing or null" &&
        grep -q "DLQ envelope cut to" "$WORK/big.log" && [ $vrc -eq 0 ]; then
        ok "a 500 KB poison record that is not UTF-8 is stored in the DLQ cut to ${2} hex chars with its reason; the 500 records after it are stored"
    else bad "oversized DLQ envelope (rc $rc, DLQ row: '$out', verify rc $vrc): $line" \
        "$(grep -v ' poison record: ' "$WORK/big.log" | tail -8; echo "$vout" | tail -3)"; fi
    # committed past it: a restart has nothing left to do
    timeout -k 10 120 "$BIN" -c "$WORK/big.yaml" sink -q --idle-exit 5s --metrics-port 0 >"$WORK/big2.log" 2>&1
    rc=$?
    if [ $rc -eq 0 ] && grep -q "spate sink: 0 records" "$WORK/big2.log"; then
        ok "the oversized poison record's offset is committed: a restart reads nothing again"
    else bad "restart after the oversized poison record (rc $rc)" "$(tail -5 "$WORK/big2.log")"; fi
    "$BIN" -c "$WORK/sink.yaml" cql -e "DROP KEYSPACE IF EXISTS $ks" >/dev/null 2>&1
}

# ---- a table dropped under a running sink: it pauses (records wait, nothing goes
# to the DLQ, nothing is committed past them), says which table and why, and
# resumes by itself once the table is back; nothing lost, nothing duplicated.
case_table_dropped() {
    own_setup drop
    local ks=$KSX port=$((MPORT + 7)) n=2000
    "$BIN" -c "$WORK/drop.yaml" sink -q --metrics-port "$port" >"$WORK/drop.log" 2>&1 &
    local S=$!
    PIDS+=("$S")
    for _ in $(seq 1 60); do grep -q "assigned" "$WORK/drop.log" && break; sleep 0.5; done
    "$BIN" -c "$WORK/sink.yaml" cql -e "DROP TABLE $ks.users" >/dev/null 2>&1
    "$DATA" produce --brokers "$KAFKA" --topic "$P-drop.clean" --count $n --seed "$SEED" \
        --base-ms "$BASE" >/dev/null 2>&1
    local blocked=""
    for _ in $(seq 1 60); do
        blocked=$(metric "$port" "spate_sink_blocked{table=\"$ks.users\",reason=\"schema\"}")
        [ "$blocked" = 1 ] && break
        sleep 1
    done
    sleep 3 # a few re-checks while it is gone
    local paused done_n dlq
    paused=$(metric "$port" spate_sink_paused)
    done_n=$(metric "$port" spate_sink_records_total)
    dlq=$(metric "$port" spate_sink_dlq_total)
    if [ "$blocked" = 1 ] && [ "$paused" = 1 ] && [ "${done_n:-x}" = 0 ] && [ "${dlq:-x}" = 0 ] &&
        grep -q "table $ks.users refuses writes (schema)" "$WORK/drop.log" &&
        ! grep -q "poison record" "$WORK/drop.log"; then
        ok "a table dropped mid-stream pauses the sink (spate_sink_blocked{reason=\"schema\"} 1, paused, 0 records done, 0 to the DLQ)"
    else bad "table dropped: blocked '$blocked', paused '$paused', done '$done_n', dlq '$dlq'" \
        "$(tail -8 "$WORK/drop.log")"; fi
    "$BIN" -c "$WORK/sink.yaml" schema apply --keyspace "$ks" >/dev/null 2>&1
    for _ in $(seq 1 90); do
        done_n=$(metric "$port" spate_sink_records_total)
        [ "${done_n:-0}" -ge $n ] && break
        sleep 1
    done
    blocked=$(metric "$port" "spate_sink_blocked{table=\"$ks.users\",reason=\"schema\"}")
    dlq=$(metric "$port" spate_sink_dlq_total)
    kill -TERM "$S" 2>/dev/null
    wait "$S"
    local rc=$?
    vout=$("$DATA" verify --host "$CHOST" --port "$CPORT" --keyspace "$ks" --count $n \
        --seed "$SEED" --base-ms "$BASE" 2>&1)
    local vrc=$?
    if [ $rc -eq 0 ] && [ "${done_n:-0}" -ge $n ] && [ "$blocked" = 0 ] && [ "${dlq:-x}" = 0 ] &&
        [ $vrc -eq 0 ] && grep -q "table $ks.users takes writes again" "$WORK/drop.log"; then
        ok "once the table is back the sink resumes by itself: $n records stored exactly, none in the DLQ"
    else bad "table back: rc $rc, done '$done_n', blocked '$blocked', dlq '$dlq', verify rc $vrc" \
        "$(tail -6 "$WORK/drop.log"; echo "$vout" | tail -4)"; fi
    "$BIN" -c "$WORK/sink.yaml" cql -e "DROP KEYSPACE IF EXISTS $ks" >/dev/null 2>&1
}

# ---- a batch the node refuses: rows that arrive together share one UNLOGGED
# BATCH; one row Cassandra refuses (a partition key over 64 KiB) fails the whole
# batch, which is then re-sent row by row: the good rows are stored, only the bad
# record goes to the DLQ, with the node's reason
case_refused_batch() {
    KS3="${KS}_b"
    sed -e "s/keyspace: $KS\$/keyspace: $KS3/" -e "s/$P\\./$P-b./g" -e "s/$P-g/$P-b-g/" \
        -e "s/^sink:/sink:\n  batch_bytes: 1048576/" "$WORK/sink.yaml" >"$WORK/batch.yaml"
    "$BIN" -c "$WORK/sink.yaml" schema apply --keyspace "$KS3" >/dev/null
    "$DATA" topics --brokers "$KAFKA" --partitions 1 "$P-b.clean" "$P-b.stats" "$P-b.dlq" >/dev/null
    longnat=$(head -c 70000 /dev/zero | tr '\0' 'X')
    {
        for i in $(seq 10 29); do
            printf 'b-%s\t{"user_id":"00000000-0000-4000-8000-0000000000%s","first_name":"F%s","last_name":"L","gender":"female","nationality":"FR","ingested_at":"2026-11-27T10:00:00.0%sZ"}\n' "$i" "$i" "$i" "$i"
            [ "$i" = 19 ] && printf 'b-bad\t{"user_id":"00000000-0000-4000-8000-000000000099","first_name":"F","last_name":"L","gender":"male","nationality":"%s","ingested_at":"2026-11-27T10:00:00.099Z"}\n' "$longnat"
        done
    } | "$DATA" lines --brokers "$KAFKA" --topic "$P-b.clean" >/dev/null
    timeout 300 "$BIN" -c "$WORK/batch.yaml" --log-level debug sink -q --idle-exit 6s >"$WORK/b.log" 2>&1
    bcql() { "$BIN" -c "$WORK/batch.yaml" cql -k "$KS3" "$@"; }
    good=$(bcql --json -e "SELECT count(*) AS n FROM users_by_nationality WHERE nationality = 'FR' AND day = '2026-11-27'" 2>&1)
    # the sink's DLQ envelope is dated when the record was refused: today
    rej=$(bcql --json -e "SELECT stage, reason, record_key FROM rejected_by_day WHERE day = '$(date -u +%F)'" 2>&1)
    if [ "$good" = '{"n":20}' ] && echo "$rej" | grep -q '"stage":"sink".*"record_key":"b-bad"' &&
        [ "$(echo "$rej" | grep -c .)" = 1 ] && grep -q "refused.*one by one" "$WORK/b.log"; then
        ok "a refused batch is re-sent row by row: 20 good rows stored, the bad record in the DLQ"
    else bad "refused batch (stored: $good)" "$rej
    $(grep -i -E "batch|error|warn" "$WORK/b.log" | tail -5)"; fi
    "$BIN" -c "$WORK/sink.yaml" cql -e "DROP KEYSPACE IF EXISTS $KS3" >/dev/null 2>&1
}

# ---- write timeouts: a 60 ms request timeout makes many writes time out; every
# one is retried with backoff until acknowledged (none lost, none sent to the DLQ)
case_write_timeouts() {
    KS2="${KS}_t"
    # (one request per row, as a flood of single-row requests is what makes a node
    # this slow; batches of rows would not time out at all)
    sed -e "s/keyspace: $KS\$/keyspace: $KS2\n  request_timeout: 60ms/" -e "s/$P\\./$P-t./g" \
        -e "s/$P-g/$P-t-g/" -e "s/^sink:/sink:\n  batch_rows: 1/" "$WORK/sink.yaml" >"$WORK/timeouts.yaml"
    "$BIN" -c "$WORK/sink.yaml" schema apply --keyspace "$KS2" >/dev/null
    "$DATA" topics --brokers "$KAFKA" --partitions 3 "$P-t.clean" "$P-t.stats" "$P-t.dlq" >/dev/null
    "$DATA" produce --brokers "$KAFKA" --topic "$P-t.clean" --count 3000 --seed "$SEED" \
        --base-ms "$BASE" >/dev/null 2>&1
    timeout 300 "$BIN" -c "$WORK/timeouts.yaml" sink -q --idle-exit 8s >"$WORK/t.log" 2>&1
    tline=$(grep 'spate sink: ' "$WORK/t.log" | tail -1)
    out=$("$DATA" verify --host "$CHOST" --port "$CPORT" --keyspace "$KS2" --count 3000 \
        --seed "$SEED" --base-ms "$BASE" 2>&1)
    rc=$?
    if [ $rc -eq 0 ] && echo "$tline" | grep -q " 0 to DLQ" && ! echo "$tline" | grep -q " 0 retries"; then
        ok "write timeouts are retried until acknowledged: $(echo "$tline" | grep -o '[0-9]* retries')"
    else bad "write timeouts (rc $rc): $tline" "$out"; fi
    "$BIN" -c "$WORK/sink.yaml" cql -e "DROP KEYSPACE IF EXISTS $KS2" >/dev/null 2>&1

    case_big_poison
    case_table_dropped
}

# SPATE_SINK_IT_ONLY="big_poison table_dropped" runs only those cases.
if [ -n "${SPATE_SINK_IT_ONLY:-}" ]; then
    for c in $SPATE_SINK_IT_ONLY; do "case_$c"; done
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
fi

echo "# keyspace $KS, topics $P.*, seed $SEED, $COUNT records, poison every $POISON_EVERY"

# ---- schema ------------------------------------------------------------------------
out=$("$BIN" -c "$WORK/sink.yaml" schema apply 2>&1)
if [ $? -eq 0 ] && echo "$out" | grep -q "created  table $KS.users$" &&
    echo "$out" | grep -q "created  keyspace $KS" && echo "$out" | grep -q "5 created"; then
    ok "schema apply: creates the keyspace and 4 tables, and says so"
else bad "schema apply: creates the keyspace and 4 tables" "$out"; fi
out=$("$BIN" -c "$WORK/sink.yaml" schema apply 2>&1)
if [ $? -eq 0 ] && echo "$out" | grep -q "0 created, 5 already existed"; then
    ok "schema apply: re-run is a no-op that reports what exists"
else bad "schema apply: re-run is a no-op" "$out"; fi
out=$("$BIN" -c "$WORK/sink.yaml" schema show 2>&1)
echo "$out" | grep -q "'class': 'SimpleStrategy', 'replication_factor': 1" &&
    ok "schema show: replication from the config" || bad "schema show: replication" "$out"

# ---- start-up errors ---------------------------------------------------------------
cat >"$WORK/badcol.map" <<EOF
sink:
  mappings:
    - topic: $P.clean
      tables:
        - table: users
          columns:
            - {column: user_id, from: user_id}
            - {column: favourite_colour, from: colour}
EOF
write_config "$WORK/badcol.yaml" "$P-bad" "$WORK/badcol.map"
out=$(timeout 60 "$BIN" -c "$WORK/badcol.yaml" sink 2>&1); rc=$?
if [ $rc -eq 2 ] && echo "$out" | grep -q "column favourite_colour does not exist in $KS.users"; then
    ok "start-up error names a mapped column that does not exist (exit 2)"
else bad "start-up error for a missing column (rc $rc)" "$out"; fi
cat >"$WORK/badtype.map" <<EOF
sink:
  mappings:
    - topic: $P.clean
      tables:
        - table: users
          columns:
            - {column: user_id, from: user_id}
            - {column: age, from: registered_at, type: timestamp}
EOF
write_config "$WORK/badtype.yaml" "$P-bad" "$WORK/badtype.map"
out=$(timeout 60 "$BIN" -c "$WORK/badtype.yaml" sink 2>&1); rc=$?
if [ $rc -eq 2 ] && echo "$out" | grep -q "column age from 'registered_at': a int column cannot hold a field of type timestamp"; then
    ok "start-up error names a column that cannot hold the field's type (exit 2)"
else bad "start-up error for a type mismatch (rc $rc)" "$out"; fi
cat >"$WORK/nopk.map" <<EOF
sink:
  mappings:
    - topic: $P.clean
      tables:
        - table: users_by_nationality
          columns:
            - {column: user_id, from: user_id}
            - {column: nationality, from: nationality}
EOF
write_config "$WORK/nopk.yaml" "$P-bad" "$WORK/nopk.map"
out=$(timeout 60 "$BIN" -c "$WORK/nopk.yaml" sink 2>&1); rc=$?
if [ $rc -eq 2 ] && echo "$out" | grep -q "primary key column day of $KS.users_by_nationality is not mapped"; then
    ok "start-up error for an unmapped primary key column (exit 2)"
else bad "start-up error for an unmapped primary key column (rc $rc)" "$out"; fi

# ---- the stream, with kill -9, two instances and poison records -------------------
"$DATA" topics --brokers "$KAFKA" --partitions 6 "$P.clean" "$P.stats" "$P.dlq" >/dev/null ||
    bad "create topics"
"$DATA" produce --brokers "$KAFKA" --topic "$P.clean" --count "$COUNT" --seed "$SEED" \
    --base-ms "$BASE" --poison-every $POISON_EVERY >"$WORK/produce.out" 2>&1 &&
    ok "produced $(cat "$WORK/produce.out")" || bad "produce" "$(cat "$WORK/produce.out")"

# records done so far by the instance serving /metrics on port $1
done_at() { curl -s "http://127.0.0.1:$1/metrics" | awk '/^spate_sink_records_total / {print int($2)}'; }
# wait until that instance has done $2 records (or $3 s passed)
wait_done() {
    local i n
    for i in $(seq 1 "$3"); do
        n=$(done_at "$1"); [ "${n:-0}" -ge "$2" ] && return 0; sleep 1
    done
    return 1
}

# instance A, killed with -9 mid-stream (after a fifth of the records)
"${SINK[@]}" -q --metrics-port $((MPORT + 1)) >"$WORK/a.log" 2>&1 &
A=$!; PIDS+=("$A")
wait_done $((MPORT + 1)) $((COUNT / 5)) 600
echo "# A killed after $(done_at $((MPORT + 1))) records"
kill -9 "$A" 2>/dev/null; wait "$A" 2>/dev/null
grep -q "assigned" "$WORK/a.log" && ok "instance A consumed, then was killed with -9" ||
    bad "instance A did not start" "$(cat "$WORK/a.log")"

# instances B and C share the partitions; C is killed with -9
"${SINK[@]}" -q --metrics-port "$MPORT" >"$WORK/b.log" 2>&1 &
B=$!; PIDS+=("$B")
"${SINK[@]}" -q --metrics-port $((MPORT + 2)) >"$WORK/c.log" 2>&1 &
C=$!; PIDS+=("$C")
wait_done $((MPORT + 2)) $((COUNT / 10)) 600
echo "# C killed after $(done_at $((MPORT + 2))) records"
kill -9 "$C" 2>/dev/null; wait "$C" 2>/dev/null
metrics=$(curl -s "http://127.0.0.1:$MPORT/metrics")
if echo "$metrics" | grep -q 'spate_sink_e2e_latency_seconds_quantile{quantile="0.999"}' &&
    echo "$metrics" | grep -q '^spate_sink_consumer_lag ' &&
    echo "$metrics" | grep -q '^spate_sink_write_retries_total ' &&
    echo "$metrics" | grep -q '^spate_sink_dlq_total ' &&
    echo "$metrics" | grep -q 'spate_sink_rows_written_total{table="'"$KS"'.users"}'; then
    ok "metrics: e2e latency quantiles, lag, retries, DLQ and rows per table on /metrics"
else bad "metrics endpoint" "$(echo "$metrics" | grep -v '^#' | head -20)"; fi
grep -q "assigned" "$WORK/c.log" && ok "two instances in one group (C got partitions, then kill -9)" ||
    bad "instance C never got partitions" "$(cat "$WORK/c.log" "$WORK/b.log")"

# B takes over C's partitions; SIGTERM it mid-stream: exit 0 with a summary
b0=$(done_at "$MPORT")
wait_done "$MPORT" $(( ${b0:-0} + COUNT / 10 )) 600
kill -TERM "$B"
wait "$B"; rc=$?
if [ $rc -eq 0 ] && grep -q "spate sink: .* records, .* rows" "$WORK/b.log"; then
    ok "SIGTERM: drains, commits, exits 0 with a summary: $(grep 'spate sink: ' "$WORK/b.log" | tail -1 | cut -c1-90)"
else bad "SIGTERM exit (rc $rc)" "$(tail -5 "$WORK/b.log")"; fi

# a restart finishes the stream
timeout 1200 "$BIN" -c "$WORK/sink.yaml" sink -q --idle-exit 10s >"$WORK/d.log" 2>&1
rc=$?
[ $rc -eq 0 ] && ok "restart consumed the rest: $(grep 'spate sink: ' "$WORK/d.log" | tail -1 | cut -c1-90)" ||
    bad "restart (rc $rc)" "$(tail -5 "$WORK/d.log")"

out=$("$DATA" verify --host "$CHOST" --port "$CPORT" --keyspace "$KS" --count "$COUNT" \
    --seed "$SEED" --base-ms "$BASE" --poison-every $POISON_EVERY --dlq 2>&1)
rc=$?
echo "$out" | grep -E '^(ok|FAIL|     )' | sed 's/^/  /'
[ $rc -eq 0 ] && ok "after kill -9, a second instance killed, SIGTERM and restart: nothing lost, nothing duplicated, values equal, poison in the DLQ table" ||
    bad "verification after the faults" "$out"

# ---- stats and other DLQ shapes ------------------------------------------------------
printf '%s\t%s\n' \
    "k1" '{"window_start":"2026-11-25T10:00:00.000Z","window_end":"2026-11-25T10:01:00.000Z","nationality":"FR","gender":"female","signups":3,"avg_age":41.5}' \
    "k1" '{"window_start":"2026-11-25T10:00:00.000Z","window_end":"2026-11-25T10:01:00.000Z","nationality":"FR","gender":"female","signups":7,"avg_age":40.25}' \
    "k2" '{"window_start":"2026-11-25T10:01:00.000Z","window_end":"2026-11-25T10:02:00.000Z","nationality":null,"gender":"male","signups":1,"avg_age":null}' |
    "$DATA" lines --brokers "$KAFKA" --topic "$P.stats" >/dev/null
printf '%s\t%s\t%s\n' \
    "raw-key-1" 'garbage {not json' 'spate.stage=ingest,spate.error=record is not a JSON object' \
    "raw-key-2" '{"stage":"process","reason":"invalid_email","key":"abc","raw":"{\"x\":1}","at":"2026-11-24T23:59:59.000Z"}' 'spate.stage=process,spate.error=invalid_email' |
    "$DATA" lines --brokers "$KAFKA" --topic "$P.dlq" >/dev/null
timeout 300 "$BIN" -c "$WORK/sink.yaml" sink -q --idle-exit 6s >"$WORK/e.log" 2>&1
out=$(cql --json -e "SELECT nationality, gender, signups, avg_age FROM signups_by_minute WHERE nationality = 'FR' AND day = '2026-11-25'" 2>&1)
[ "$out" = '{"nationality":"FR","gender":"female","signups":7,"avg_age":40.25}' ] &&
    ok "users.stats: upsert keeps the latest total per minute, nationality and gender" ||
    bad "users.stats -> signups_by_minute" "$out"
out=$(cql --json -e "SELECT gender, signups, avg_age FROM signups_by_minute WHERE nationality = '' AND day = '2026-11-25'" 2>&1)
[ "$out" = '{"gender":"male","signups":1,"avg_age":null}' ] &&
    ok "users.stats: a null nationality is stored under '' (not dropped)" ||
    bad "users.stats null nationality" "$out"
out=$(cql --json -e "SELECT stage, reason, record_key, raw FROM rejected_by_day WHERE day = '2026-11-24'" 2>&1)
echo "$out" | grep -q '"stage":"process","reason":"invalid_email","record_key":"abc","raw":"{\\"x\\":1}"' &&
    ok "users.dlq: a Spark envelope is stored by its own day, stage, reason, key and raw" ||
    bad "users.dlq Spark envelope" "$out"
today=$(date -u +%F)
out=$(cql --json -e "SELECT stage, reason, record_key, raw FROM rejected_by_day WHERE day = '$today'" 2>&1)
echo "$out" | grep -q '"stage":"ingest","reason":"record is not a JSON object","record_key":"raw-key-1","raw":"garbage {not json"' &&
    ok "users.dlq: ingest's raw record falls back to headers, Kafka key and raw bytes" ||
    bad "users.dlq raw + headers" "$(echo "$out" | grep -v '"stage":"sink"' | head -5)"

case_refused_batch

# ---- topics that do not exist yet: the sink creates them before subscribing, so
# the first record is stored at once (librdkafka looked for a missing subscribed
# topic again only after 5 minutes: the containers' first row waited that long)
sed -e "s/$P\./$P-late./g" -e "s/$P-g/$P-late-g/" "$WORK/sink.yaml" >"$WORK/late.yaml"
"$BIN" -c "$WORK/late.yaml" sink -q --metrics-port 0 >"$WORK/late.log" 2>&1 &
L=$!; PIDS+=("$L")
for _ in $(seq 1 60); do grep -q "assigned" "$WORK/late.log" && break; sleep 0.5; done
printf '%s\t%s\n' "k-late" '{"window_start":"2026-11-26T10:00:00.000Z","window_end":"2026-11-26T10:01:00.000Z","nationality":"DE","gender":"male","signups":5,"avg_age":30.5}' |
    "$DATA" lines --brokers "$KAFKA" --topic "$P-late.stats" >/dev/null
t0=$(date +%s)
out=""
for _ in $(seq 1 60); do
    out=$(cql --json -e "SELECT signups FROM signups_by_minute WHERE nationality = 'DE' AND day = '2026-11-26'" 2>&1)
    [ "$out" = '{"signups":5}' ] && break
    sleep 0.5
done
waited=$(( $(date +%s) - t0 ))
kill -TERM "$L" 2>/dev/null; wait "$L" 2>/dev/null
if grep -q "created topic $P-late.stats" "$WORK/late.log" && [ "$out" = '{"signups":5}' ] &&
    [ "$waited" -le 20 ]; then
    ok "a sink started before its topics exist creates them and stores the first record in ${waited} s"
else bad "sink before its topics exist (stored: '$out' after ${waited} s)" "$(tail -8 "$WORK/late.log")"; fi

case_write_timeouts

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
