#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# run.sh -- async single-row inserts into a 10-column table: spate's cql client vs the Python
# cassandra-driver (execute_concurrent_with_args), same table, same rows, same concurrency,
# one run. Reports rows/s, client CPU seconds per 100k rows and Cassandra's CPU during each.
# Usage: bench/cql/run.sh [ROWS=500000] [CONCURRENCY=100]
# Env: SPATE_BIN (spate binary; it_cql_bench is looked up next to it), SPATE_CASSANDRA_HOST/PORT,
#      BENCH_PYTHON (a python with cassandra-driver; default: a venv made under /tmp).
set -euo pipefail
ROWS=${1:-500000}
CONC=${2:-100}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BIN=${SPATE_BIN:-$ROOT/build/spate}
BENCH=${SPATE_CQL_BENCH:-$(dirname "$BIN")/it_cql_bench}
HOST=${SPATE_CASSANDRA_HOST:-127.0.0.1}
PORT=${SPATE_CASSANDRA_PORT:-9042}
export SPATE_CASSANDRA_HOST=$HOST SPATE_CASSANDRA_PORT=$PORT
PY=${BENCH_PYTHON:-}
if [ -z "$PY" ]; then
    venv=/tmp/spate-cql-bench-venv
    [ -x $venv/bin/python ] || python3 -m venv $venv
    $venv/bin/python -c "import cassandra" 2>/dev/null || $venv/bin/pip install -q cassandra-driver
    PY=$venv/bin/python
fi
[ -x "$BENCH" ] || { echo "bench: $BENCH not built (cmake --build ... --target it_cql_bench)" >&2; exit 2; }

# Cassandra's pid: whoever listens on the native port
CPID=$(ss -ltnpH "sport = :$PORT" | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -1)
cass_cpu() { # CPU seconds of the Cassandra JVM so far
    if [ -n "$CPID" ] && [ -r /proc/$CPID/stat ]; then
        awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' /proc/$CPID/stat
    else echo 0; fi
}
cql() { "$BIN" cql -q -H "$HOST" -P "$PORT" -e "$1" >/dev/null; }
cql "CREATE KEYSPACE IF NOT EXISTS spate_bench WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}"
cql "CREATE TABLE IF NOT EXISTS spate_bench.rows10 (id bigint PRIMARY KEY, c1 text, c2 bigint, c3 double, c4 text, c5 boolean, c6 bigint, c7 text, c8 int, c9 timestamp)"

run_one() { # name command...
    local name=$1; shift
    cql "TRUNCATE spate_bench.rows10"
    local c0 c1 out
    c0=$(cass_cpu)
    out=$("$@")
    c1=$(cass_cpu)
    local secs cc
    secs=$(echo "$out" | sed -n 's/.*seconds=\([0-9.]*\).*/\1/p')
    cc=$(echo "$c1 - $c0" | bc)
    echo "$name $out cassandra_cpu_s=$cc cassandra_cores_busy=$(echo "scale=2; $cc / $secs" | bc)"
}
echo "rows=$ROWS concurrency=$CONC host=$HOST:$PORT cassandra_pid=${CPID:-?} cores=$(nproc)"
a=$(run_one spate "$BENCH" "$ROWS" "$CONC")
b=$(run_one python "$PY" "$HERE/bench_python.py" "$ROWS" "$CONC")
echo "$a"
echo "$b"
ra=$(echo "$a" | sed -n 's/.*rows_per_s=\([0-9]*\).*/\1/p')
rb=$(echo "$b" | sed -n 's/.*rows_per_s=\([0-9]*\).*/\1/p')
echo "ratio spate/python rows_per_s = $(echo "scale=2; $ra / $rb" | bc)"
