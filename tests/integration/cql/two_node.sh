#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# two_node.sh -- a two-node Cassandra cluster on 127.0.0.1 and 127.0.0.2 (ports 25042/25000,
# data in /tmp/spate-cql-n1 and -n2): peer discovery, token-aware routing checked against the
# server's token(), failover when the second node is killed. Always stops both nodes.
# Env: SPATE_BIN; SPATE_IT_DIR (default next to SPATE_BIN). Prints "N passed, N failed".
set -u
BIN=${SPATE_BIN:?SPATE_BIN must point at the spate binary}
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
IT_DIR=${SPATE_IT_DIR:-$(dirname "$BIN")}
N1=/tmp/spate-cql-n1
N2=/tmp/spate-cql-n2
PORT=25042
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && echo "$2" | sed 's/^/     /'; }
node() { local d=$1; shift; "$BIN" -c "$d/spate.yaml" stack "$@"; }
cleanup() { node $N2 down >/dev/null 2>&1; node $N1 down >/dev/null 2>&1; }
for d in $N1 $N2; do [ -f $d/spate.yaml ] && node $d down >/dev/null 2>&1; rm -rf $d; mkdir -p $d; done
trap cleanup EXIT
for i in 1 2; do
    d=/tmp/spate-cql-n$i
    cat >$d/spate.yaml <<YAML
stack:
  data_dir: $d
  host: 127.0.0.$i
  cassandra_port: $PORT
  cassandra_storage_port: 25000
  kafka_port: 25092
  kafka_controller_port: 25093
  kafka_heap_mb: 192
  cassandra_heap_mb: 640
  start_timeout: 400
YAML
done
echo "starting node 1 (127.0.0.1:$PORT) ..."
node $N1 up >$N1/up.log 2>&1 && ok "node 1 up" || { bad "node 1 up" "$(tail -20 $N1/up.log)"; echo "$passed passed, $failed failed"; exit 1; }
echo "starting node 2 (127.0.0.2:$PORT), joining node 1 ..."
SPATE_CASSANDRA_JVM_OPTS="-Dcassandra.ring_delay_ms=30000" SPATE_CASSANDRA_EXTRA_YAML="seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: \"127.0.0.1:25000\"" node $N2 up >$N2/up.log 2>&1 && ok "node 2 up" || { bad "node 2 up" "$(tail -20 $N2/up.log)"; echo "$passed passed, $failed failed"; exit 1; }
# wait until node 1 sees node 2 as a peer
for i in $(seq 1 60); do
    n=$("$BIN" cql -H 127.0.0.1 -P $PORT -q --json -e "SELECT peer FROM system.peers" 2>/dev/null | wc -l)
    [ "$n" -ge 1 ] && break
    sleep 2
done
[ "${n:-0}" -ge 1 ] && ok "node 1 lists node 2 in system.peers" || bad "peers" "node 1 has no peer"

out=$N1/twonode.out
SPATE_CASSANDRA_HOST=127.0.0.1 SPATE_CASSANDRA_PORT=$PORT "$IT_DIR/it_cql_twonode" >"$out" 2>&1 &
tpid=$!
for i in $(seq 1 600); do grep -q "ready-for-kill" "$out" && break; kill -0 $tpid 2>/dev/null || break; sleep 0.2; done
if grep -q "ready-for-kill" "$out"; then
    kill -9 "$(cat $N2/cassandra/pid)"
    kill -USR1 $tpid
fi
wait $tpid
sed 's/^/     /' "$out"
line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out" | tail -1)
p=$(echo "$line" | awk '{print $1}'); f=$(echo "$line" | awk '{print $3}')
passed=$((passed + ${p:-0})); failed=$((failed + ${f:-1}))
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
