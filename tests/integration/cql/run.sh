#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# run.sh -- cql integration tests against a running Cassandra (the lead's runner calls this).
# Env: SPATE_BIN (the spate binary), SPATE_CASSANDRA_HOST, SPATE_CASSANDRA_PORT.
# Optional: SPATE_IT_DIR (where it_cql_* programs are; default: next to SPATE_BIN);
# SPATE_CQL_OWN_NODE=1 / SPATE_CQL_TWO_NODE=1 also run own_node.sh / two_node.sh (they start
# Cassandra instances of their own on other ports; minutes each).
# Prints "N passed, N failed" and exits non-zero on any failure.
set -u
BIN=${SPATE_BIN:?SPATE_BIN must point at the spate binary}
HOST=${SPATE_CASSANDRA_HOST:-127.0.0.1}
PORT=${SPATE_CASSANDRA_PORT:-9042}
IT_DIR=${SPATE_IT_DIR:-$(dirname "$BIN")}
export SPATE_CASSANDRA_HOST=$HOST SPATE_CASSANDRA_PORT=$PORT
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && echo "$2" | sed 's/^/     /'; }

cql() { "$BIN" cql -H "$HOST" -P "$PORT" "$@"; }

# 1. the C program: types, batches, re-prepare, routing, errors, paging, backpressure
if [ -x "$IT_DIR/it_cql_roundtrip" ]; then
    out=$("$IT_DIR/it_cql_roundtrip" 2>&1)
    rc=$?
    line=$(echo "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -1)
    p=$(echo "$line" | awk '{print $1}')
    f=$(echo "$line" | awk '{print $3}')
    passed=$((passed + ${p:-0}))
    failed=$((failed + ${f:-0}))
    if [ $rc -ne 0 ] && [ "${f:-0}" = 0 ]; then failed=$((failed + 1)); fi
    echo "$out" | grep -E '^(FAIL|  )' || true
    echo "it_cql_roundtrip: ${line:-crashed (rc $rc)}"
else
    bad "it_cql_roundtrip not built in $IT_DIR"
fi

# 1b. passwords never in argv; asked on the terminal without echo (issue 16)
out=$(python3 "$(dirname "${BASH_SOURCE[0]}")/password.py" "$BIN" 2>&1)
echo "$out" | grep -E '^(ok|FAIL)'
line=$(echo "$out" | grep -E 'passed, [0-9]+ failed$' | tail -1)
p=$(echo "$line" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+')
f=$(echo "$line" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+')
passed=$((passed + ${p:-0}))
failed=$((failed + ${f:-1}))

# 2. the terminal client
ks=spate_cql_cli
if cql -q -e "CREATE KEYSPACE IF NOT EXISTS $ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1};
              CREATE TABLE IF NOT EXISTS $ks.t (k int PRIMARY KEY, v text);
              TRUNCATE $ks.t;" >/dev/null 2>&1; then ok "cli: schema via -e"; else bad "cli: schema via -e"; fi

printf "INSERT INTO %s.t (k, v) VALUES (1, 'one');\n-- a comment; with a semicolon\nINSERT INTO %s.t (k, v) VALUES (2, 'two; with ''quote''');\n" $ks $ks |
    cql -q >/dev/null 2>&1 && ok "cli: statements on stdin" || bad "cli: statements on stdin"

out=$(cql -k $ks -e "SELECT k, v FROM t WHERE k IN (1, 2)" 2>&1)
echo "$out" | grep -q "two; with 'quote'" && echo "$out" | grep -q "(2 rows)" &&
    ok "cli: aligned table" || bad "cli: aligned table" "$out"

out=$(cql -k $ks --json -e "SELECT k, v FROM t WHERE k = 1" 2>&1)
[ "$out" = '{"k":1,"v":"one"}' ] && ok "cli: --json" || bad "cli: --json" "$out"

tmp=$(mktemp)
for i in $(seq 1 250); do echo "INSERT INTO $ks.t (k, v) VALUES ($i, 'v$i');"; done >"$tmp"
cql -q -f "$tmp" >/dev/null 2>&1 && ok "cli: -f FILE" || bad "cli: -f FILE"
rm -f "$tmp"
n=$(cql -k $ks --json --page-size 7 --limit 100 -e "SELECT k FROM t" 2>/dev/null | wc -l)
[ "$n" = 100 ] && ok "cli: --limit across pages" || bad "cli: --limit across pages" "got $n rows"
n=$(cql -k $ks --json --page-size 7 -e "SELECT k FROM t" 2>/dev/null | wc -l)
[ "$n" = 250 ] && ok "cli: paging to the end" || bad "cli: paging to the end" "got $n rows"

out=$(cql -e "SELEKT 1" 2>&1)
rc=$?
[ $rc = 1 ] && echo "$out" | grep -q "Syntax error" && ok "cli: error shown, exit 1" || bad "cli: error exit" "$out (rc $rc)"

out=$("$BIN" cql -H 127.0.0.1 -P 1 -e "SELECT 1" 2>&1)
rc=$?
[ $rc = 1 ] && echo "$out" | grep -qi "refused" && ok "cli: connection refused is clear" || bad "cli: refused" "$out"

cql -q -e "DROP KEYSPACE IF EXISTS $ks" >/dev/null 2>&1

# 3. optional, slow: a Cassandra of our own (auth, TLS, kill -9) and a two-node cluster
here=$(cd "$(dirname "$0")" && pwd)
for t in own_node two_node; do
    var=SPATE_CQL_$(echo $t | tr a-z A-Z)
    [ "${!var:-0}" = 1 ] || continue
    out=$("$here/$t.sh" 2>&1)
    echo "$out" | grep -E '^(ok|FAIL|     )' || true
    line=$(echo "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -1)
    p=$(echo "$line" | awk '{print $1}'); f=$(echo "$line" | awk '{print $3}')
    passed=$((passed + ${p:-0})); failed=$((failed + ${f:-1}))
done

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
