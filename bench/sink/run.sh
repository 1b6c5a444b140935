#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/sink/run.sh -- rows/s from users.clean into Cassandra: `spate sink` versus the
# Python writer a user would otherwise write (bench/peers/sink_peer.py: confluent-kafka +
# cassandra-driver execute_concurrent, committing after writes). Same topic, same tables
# (users + users_by_nationality), same machine, one run; also CPU seconds per million
# rows, peak RSS, and Cassandra's CPU during each run (is the writer or the node the limit?).
#
# Env: SPATE_BIN (default build/spate), SPATE_BENCH_SINK_COUNT (default 1000000),
# SPATE_KAFKA (default 127.0.0.1:9092), SPATE_CONFIG (default spate.yaml: its stack
# section locates the local Cassandra, whose pid gives the node's CPU).
# The Python peer needs confluent-kafka and cassandra-driver; a venv is made in
# build-bench-sink-venv/ on first use (PyPI).
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BIN=${SPATE_BIN:-$ROOT/build/spate}
BUILD=$(dirname "$BIN")
CONFIG=${SPATE_CONFIG:-$ROOT/spate.yaml}
COUNT=${SPATE_BENCH_SINK_COUNT:-1000000}
VENV=${SPATE_BENCH_SINK_VENV:-$ROOT/build-bench-sink-venv}
DATA="$BUILD/it_sink_data"
TAG=$(date +%s)
KS=bench_sink
TOPIC="bench-sink-$TAG.clean"
OUT="$ROOT/bench/sink/results.txt"
WORK=$(mktemp -d /tmp/spate-bench-sink.XXXXXX)
trap 'rm -rf "$WORK"; SPATE_KAFKA="${SPATE_KAFKA:-127.0.0.1:9092}" "$ROOT/bench/drop-topics" "bench-sink-$TAG\..*"' EXIT

kafka=${SPATE_KAFKA:-127.0.0.1:9092}
chost=127.0.0.1
cport=$("$BIN" -c "$CONFIG" stack status 2>/dev/null | awk '$1 == "cassandra" {print $3}')
cport=${cport:-9042}
cpid=$("$BIN" -c "$CONFIG" stack status 2>/dev/null | awk '$1 == "cassandra" {print $2}')

if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV" && "$VENV/bin/pip" install -q confluent-kafka cassandra-driver || exit 1
fi
[ -x "$DATA" ] || { echo "build it_sink_data first (cmake --build ... --target it_sink_data)"; exit 1; }

# CPU seconds (user+sys) of a pid so far
cpu_of() { [ -n "$1" ] && awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$1/stat" 2>/dev/null || echo 0; }

cat >"$WORK/bench.yaml" <<EOF
log_level: warn
kafka:
  bootstrap_servers: $kafka
  topic_dlq: $TOPIC.dlq
cassandra:
  contact_points: [$chost]
  port: $cport
  keyspace: $KS
  consistency: ONE
  compression: false
sink:
  mappings:
    - topic: $TOPIC
      tables:
EOF
# the users.clean tables of the default mapping
awk '/- topic: users.clean/ {on=1; next} /- topic:/ {on=0} on && !/tables:/' \
    "$ROOT/tests/integration/sink/mappings.yaml" >>"$WORK/bench.yaml"

"$BIN" -c "$WORK/bench.yaml" schema apply >/dev/null || exit 1
"$DATA" topics --brokers "$kafka" --partitions 6 "$TOPIC" "$TOPIC.dlq" >/dev/null || exit 1
echo "producing $COUNT records into $TOPIC ..."
"$DATA" produce --brokers "$kafka" --topic "$TOPIC" --count "$COUNT" --seed 11 \
    --base-ms "$(($(date +%s) * 1000))" || exit 1

cql() { "$BIN" -c "$WORK/bench.yaml" cql -k "$KS" "$@"; }
truncate_tables() { cql -e "TRUNCATE users; TRUNCATE users_by_nationality;" >/dev/null; }

# ---- spate sink
truncate_tables
c0=$(cpu_of "$cpid")
/usr/bin/time -f "%U %S %M %e" -o "$WORK/sink.time" \
    "$BIN" -c "$WORK/bench.yaml" sink -q --group "bench-sink-$TAG-spate" --max-records "$COUNT" \
    --metrics-port 0 --latency-field '' >"$WORK/sink.log" 2>&1
c1=$(cpu_of "$cpid")
read -r su ss srss swall < <(tail -1 "$WORK/sink.time")
sline=$(grep 'spate sink: ' "$WORK/sink.log" | tail -1)
[ -n "$sline" ] || { echo "spate sink failed:"; tail -20 "$WORK/sink.log"; exit 1; }
srows=$(echo "$sline" | sed -E 's/.* ([0-9]+) rows in ([0-9.]+) s.*/\1/')
ssecs=$(echo "$sline" | sed -E 's/.* ([0-9]+) rows in ([0-9.]+) s.*/\2/')
"$DATA" verify --host "$chost" --port "$cport" --keyspace "$KS" --count "$COUNT" --seed 11 \
    --base-ms 0 >/dev/null 2>&1 # (values depend on base-ms; the count check is the point here)

# ---- the Python peer
truncate_tables
c2=$(cpu_of "$cpid")
/usr/bin/time -f "%U %S %M %e" -o "$WORK/peer.time" \
    "$VENV/bin/python" "$ROOT/bench/peers/sink_peer.py" --brokers "$kafka" --topic "$TOPIC" \
    --group "bench-sink-$TAG-peer" --host "$chost" --port "$cport" --keyspace "$KS" \
    --count "$COUNT" >"$WORK/peer.log" 2>&1
c3=$(cpu_of "$cpid")
read -r pu ps prss pwall < <(tail -1 "$WORK/peer.time")
pline=$(grep '^peer: ' "$WORK/peer.log" | tail -1)
[ -n "$pline" ] || { echo "the peer failed:"; tail -20 "$WORK/peer.log"; exit 1; }
prows=$(echo "$pline" | sed -E 's/.* ([0-9]+) rows in ([0-9.]+) s.*/\1/')
psecs=$(echo "$pline" | sed -E 's/.* ([0-9]+) rows in ([0-9.]+) s.*/\2/')

report=$(awk -v n="$COUNT" -v sr="$srows" -v ss="$ssecs" -v su="$su" -v sy="$ss" -v sm="$srss" \
    -v pr="$prows" -v ps="$psecs" -v pu="$pu" -v py="$ps" -v pm="$prss" \
    -v c0="$c0" -v c1="$c1" -v c2="$c2" -v c3="$c3" -v sw="$swall" -v pw="$pwall" 'BEGIN {
  srate = sr / ss; prate = pr / ps
  printf "records: %d (users + users_by_nationality = %d rows each run)\n", n, 2 * n
  printf "%-12s %10s %9s %14s %10s %14s\n", "writer", "rows/s", "cpu s", "cpu s/M rows", "peak RSS", "cassandra cpu"
  printf "%-12s %10.0f %9.1f %14.1f %8.0f MB %12.1f s\n", "spate sink", srate, su + sy, (su + sy) * 1e6 / sr, sm / 1024, c1 - c0
  printf "%-12s %10.0f %9.1f %14.1f %8.0f MB %12.1f s\n", "python peer", prate, pu + py, (pu + py) * 1e6 / pr, pm / 1024, c3 - c2
  printf "ratio (spate/peer rows/s): %.2fx; writer CPU per row: peer/spate %.2fx\n", srate / prate, ((pu + py) / pr) / ((su + sy) / sr)
  printf "cassandra CPU per writer CPU: spate run %.1f, peer run %.1f (the larger side is the limit)\n", (c1 - c0) / (su + sy), (c3 - c2) / (pu + py)
}')
echo "$report"
{
    echo "== $(date -u +%FT%TZ) $(uname -n), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "$report"
    echo "spate: $sline"
    echo "peer:  $pline"
    echo
} >>"$OUT"
echo "(appended to $OUT)"
"$BIN" -c "$WORK/bench.yaml" cql -e "DROP KEYSPACE IF EXISTS $KS" >/dev/null 2>&1
