#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# own_node.sh -- cql tests that need a Cassandra of their own (destructive or specially configured):
# PasswordAuthenticator (wrong password -> clear auth error), client TLS with certificates made
# here (verified, wrong CA refused, client certificate), and kill -9 of the server mid-request.
# Starts its own stack (ports 19042/17000, Kafka 19092/19093, data in /tmp/spate-cql-node) and
# always stops it. Env: SPATE_BIN; SPATE_IT_DIR (it_cql_* programs, default next to SPATE_BIN).
# Prints "N passed, N failed"; exits non-zero on failure.
set -u
BIN=${SPATE_BIN:?SPATE_BIN must point at the spate binary}
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
IT_DIR=${SPATE_IT_DIR:-$(dirname "$BIN")}
D=${SPATE_CQL_NODE_DIR:-/tmp/spate-cql-node}
PORT=19042
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && echo "$2" | sed 's/^/     /'; }

stack() { "$BIN" -c "$D/spate.yaml" stack "$@"; }
cleanup() { stack down >/dev/null 2>&1; }
[ -f "$D/spate.yaml" ] && cleanup
rm -rf "$D"
mkdir -p "$D/tls"
trap cleanup EXIT

# ---- certificates: a CA, a server cert for IP 127.0.0.1, a client cert, and a stranger CA
(
    cd "$D/tls" || exit 1
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj "/CN=spate-test-ca"
    openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=127.0.0.1"
    printf "subjectAltName=IP:127.0.0.1\n" >server.ext
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 -extfile server.ext
    openssl pkcs12 -export -in server.crt -inkey server.key -certfile ca.crt -name cassandra -out server.p12 -passout pass:changeit
    openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj "/CN=spate-client"
    openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client.crt -days 2
    openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other.crt -days 2 -subj "/CN=stranger"
) >"$D/tls/openssl.log" 2>&1 || { bad "make certificates" "$(tail -5 "$D/tls/openssl.log")"; echo "$passed passed, $failed failed"; exit 1; }

cat >"$D/spate.yaml" <<YAML
stack:
  data_dir: $D
  host: 127.0.0.1
  cassandra_port: $PORT
  cassandra_storage_port: 17000
  kafka_port: 19092
  kafka_controller_port: 19093
  kafka_heap_mb: 256
  cassandra_heap_mb: 768
  start_timeout: 300
cassandra:
  contact_points: [127.0.0.1]
  port: $PORT
  connect_timeout: 3s
YAML
# TLS is optional on the port so the stack's own readiness probe (plain) still works;
# the client below proves it negotiates TLS (a wrong CA is refused).
export SPATE_CASSANDRA_AUTHENTICATOR=PasswordAuthenticator
export SPATE_CASSANDRA_EXTRA_YAML="client_encryption_options:
  enabled: true
  optional: true
  keystore: $D/tls/server.p12
  keystore_password: changeit
  require_client_auth: false"
echo "starting a Cassandra of our own on 127.0.0.1:$PORT (data in $D) ..."
if ! stack up >"$D/stack-up.log" 2>&1; then
    bad "stack up" "$(tail -20 "$D/stack-up.log")"
    echo "$passed passed, $failed failed"
    exit 1
fi
ok "own Cassandra with PasswordAuthenticator and client TLS is up"

cql() { "$BIN" -c "$D/spate.yaml" cql -H 127.0.0.1 -P $PORT "$@"; }
# the default superuser appears shortly after the port opens
for i in $(seq 1 60); do
    SPATE_CASSANDRA_PASSWORD=cassandra cql -u cassandra -q -e "SELECT release_version FROM system.local" >/dev/null 2>&1 && break
    sleep 2
done

out=$(cql -e "SELECT release_version FROM system.local" 2>&1); rc=$?
[ $rc = 1 ] && echo "$out" | grep -q "requires authentication" && ok "auth: no credentials is a clear error" || bad "auth: no credentials" "$out"
out=$(SPATE_CASSANDRA_PASSWORD=wrong cql -u cassandra -e "SELECT release_version FROM system.local" 2>&1); rc=$?
[ $rc = 1 ] && echo "$out" | grep -q "authentication as 'cassandra' failed" && echo "$out" | grep -qi "incorrect\|bad credentials\|Authentication error" &&
    ok "auth: wrong password is a clear auth error" || bad "auth: wrong password" "$out"
echo "     $out"
out=$(SPATE_CASSANDRA_PASSWORD=cassandra cql -u cassandra -e "SELECT release_version FROM system.local" 2>&1)
echo "$out" | grep -q "(1 rows)" && ok "auth: right password" || bad "auth: right password" "$out"

# TLS
T=$D/tls
out=$(SPATE_CASSANDRA_PASSWORD=cassandra cql -u cassandra --tls --ca $T/ca.crt -e "SELECT release_version FROM system.local" 2>&1)
echo "$out" | grep -q "(1 rows)" && ok "tls: verified against the test CA" || bad "tls: verified" "$out"
out=$(SPATE_CASSANDRA_PASSWORD=cassandra cql -u cassandra --tls --ca $T/other.crt -e "SELECT release_version FROM system.local" 2>&1); rc=$?
[ $rc = 1 ] && echo "$out" | grep -qi "certificate verif" && ok "tls: a certificate from another CA is refused" || bad "tls: wrong CA" "$out"
echo "     $out"
out=$(SPATE_CASSANDRA_PASSWORD=cassandra cql -u cassandra --tls --ca $T/ca.crt --cert $T/client.crt --key $T/client.key -e "SELECT release_version FROM system.local" 2>&1)
echo "$out" | grep -q "(1 rows)" && ok "tls: with a client certificate" || bad "tls: client cert" "$out"
out=$(SPATE_CASSANDRA_PASSWORD=cassandra cql -u cassandra --tls --no-verify -e "SELECT release_version FROM system.local" 2>&1)
echo "$out" | grep -q "(1 rows)" && ok "tls: --no-verify" || bad "tls: --no-verify" "$out"

# kill -9 mid-request
if [ -x "$IT_DIR/it_cql_kill" ]; then
    cpid=$(cat "$D/cassandra/pid" 2>/dev/null | head -1)
    [ -n "$cpid" ] || cpid=$(ss -ltnpH "sport = :$PORT" | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -1)
    fifo=$D/kill.out
    SPATE_CASSANDRA_HOST=127.0.0.1 SPATE_CASSANDRA_PORT=$PORT SPATE_CASSANDRA_USER=cassandra \
        SPATE_CASSANDRA_PASSWORD=cassandra "$IT_DIR/it_cql_kill" >"$fifo" 2>&1 &
    kpid=$!
    for i in $(seq 1 50); do grep -q ready "$fifo" && break; sleep 0.2; done
    sleep 2
    if [ -n "$cpid" ]; then kill -9 "$cpid"; kill -USR1 $kpid; fi
    wait $kpid
    cat "$fifo" | sed 's/^/     /'
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$fifo" | tail -1)
    p=$(echo "$line" | awk '{print $1}'); f=$(echo "$line" | awk '{print $3}')
    passed=$((passed + ${p:-0})); failed=$((failed + ${f:-1}))
else
    bad "it_cql_kill not built in $IT_DIR"
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
