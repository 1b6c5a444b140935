#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# secure/run.sh -- the whole pipeline on a secured stack of its own: `spate stack up
# --secure` (Kafka SASL_SSL with SCRAM-SHA-512, Cassandra PasswordAuthenticator and
# client TLS, on ports 24092/24093 and 24042/24000, state in build/secure-state),
# `spate run` streaming through every stage with only the config changed, verify exact;
# then a wrong password, an untrusted certificate and a client without TLS, each for
# ingest, sink and CQL: one clear line naming the setting, and nothing lost.
# Always stops its stack and checks that no JVM of it is left.
set -uo pipefail
cd "$SPATE_ROOT"
passed=0
failed=0
ok() { echo "ok   $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1"; [ -n "${2:-}" ] && echo "$2" | sed 's/^/     /'; failed=$((failed + 1)); }
D="$SPATE_BUILD/secure-state"
TMP="$(mktemp -d /tmp/spate-it-secure.XXXXXX)"

# spate.yaml itself with the security settings a user adds (README, "Secured
# clusters"), pointed at this suite's ports through its ${VAR:-default}s.
export SPATE_STATE_DIR="$D"
export SPATE_KAFKA_PORT=24092 SPATE_KAFKA_CONTROLLER_PORT=24093
export SPATE_CASSANDRA_PORT=24042 SPATE_CASSANDRA_STORAGE_PORT=24000
export SPATE_KAFKA_HEAP_MB=256 SPATE_CASSANDRA_HEAP_MB=768
export SPATE_KEYSPACE=spate_secure SPATE_SINK_GROUP=spate-sink-secure
export SPATE_APISIM_PORT=24088 SPATE_INGEST_METRICS_PORT=24401 SPATE_SINK_METRICS_PORT=24402
export SPATE_SERVE_PORT=24080 SPATE_SERVE_METRICS_PORT=24403
export SPATE_SOURCE_URL="http://127.0.0.1:${SPATE_APISIM_PORT}/api/"
unset SPATE_KAFKA SPATE_CASSANDRA SPATE_CASSANDRA_USER SPATE_CASSANDRA_PASSWORD
"$SPATE_PY" - "$SPATE_ROOT/spate.yaml" "$TMP/secure.yaml" <<'PY'
import sys
text = open(sys.argv[1]).read()
kafka = '''  properties:            # passed through to librdkafka
    linger.ms: "5"
'''
assert kafka in text and "  tls:\n    enabled: false\n" in text
text = text.replace(kafka, kafka + '''    security.protocol: ${SPATE_KAFKA_PROTOCOL:-SASL_SSL}
    sasl.mechanism: ${SPATE_KAFKA_MECHANISM:-PLAIN}
    sasl.username: ${SPATE_KAFKA_USER}
    sasl.password: ${SPATE_KAFKA_PASSWORD}
    ssl.ca.location: ${SPATE_KAFKA_CA}
''')
text = text.replace("  tls:\n    enabled: false\n",
                    "  tls:\n    enabled: ${SPATE_CASSANDRA_TLS:-true}\n"
                    "    ca_file: ${SPATE_CASSANDRA_CA:-${SPATE_KAFKA_CA}}\n")
open(sys.argv[2], "w").write(text)
PY
S() { "$SPATE_BIN" -c "$TMP/secure.yaml" "$@"; }

stack_pids() {
  for f in /proc/[0-9]*/cmdline; do
    if tr '\0' ' ' <"$f" 2>/dev/null | grep -q -- "-Dspate.stack=$D/"; then
      p="${f#/proc/}"; echo "${p%/cmdline}"
    fi
  done
}
finish() {
  # the stack's probes need the credentials; down needs none
  SPATE_KAFKA_USER=x SPATE_KAFKA_PASSWORD=x SPATE_KAFKA_CA=x S stack down >/dev/null 2>&1
  left="$(stack_pids | tr '\n' ' ')"
  if [ -n "$left" ]; then
    bad "stack down left JVMs behind: $left"
    for p in $left; do kill -9 "$p" 2>/dev/null; done
  else
    ok "stack down: no JVM of the secure stack is left"
  fi
  rm -rf "$TMP" "$D"
  echo "secure: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit $?
}
trap finish EXIT

# ---- the stack ---------------------------------------------------------------
export SPATE_KAFKA_USER=x SPATE_KAFKA_PASSWORD=x SPATE_KAFKA_CA=x # until the stack made them
S stack down >/dev/null 2>&1
rm -rf "$D"
# a plain stack's folder is not turned secure in place (its Kafka has no users)
mkdir -p "$TMP/plain/kafka/data" && touch "$TMP/plain/kafka/data/meta.properties"
out="$(SPATE_STATE_DIR="$TMP/plain" S stack up --secure 2>&1)"; rc=$?
if [ $rc -ne 0 ] && [[ "$out" == *"holds a stack started without --secure"* ]] && [ ! -e "$TMP/plain/secure" ]; then
  ok "stack up --secure refuses a plain stack's folder"
else bad "stack up --secure on a plain folder (exit $rc)" "$out"; fi
t0=$SECONDS
if S stack up --secure >"$TMP/up.log" 2>&1; then
  ok "stack up --secure ($((SECONDS - t0)) s)"
else
  bad "stack up --secure" "$(tail -20 "$TMP/up.log")"
  exit 1
fi
modes="$(stat -c '%a %n' "$D" "$D/secure" "$D"/secure/* | grep -vE '^(700|600) ')"
if [ -z "$modes" ] && [ -f "$D/secure/credentials" ] && [ -f "$D/secure/ca.crt" ]; then
  ok "state folder and secure/ are 0700, every file in secure/ 0600"
else
  bad "permissions of the secure state" "$modes"
fi
if grep -q "password" "$TMP/up.log" || grep -q "$(sed -n 's/^SPATE_KAFKA_PASSWORD=//p' "$D/secure/credentials")" "$TMP/up.log"; then
  bad "stack up printed a password" "$(cat "$TMP/up.log")"
fi
status="$(S stack status 2>&1)"
if [[ "$status" == *"SASL_SSL (PLAIN and SCRAM-SHA-512)"* ]] && [[ "$status" == *"$D/secure/ca.crt"* ]] &&
   [[ "$status" == *"sasl.password: \${SPATE_KAFKA_PASSWORD}"* ]] && [[ "$status" == *"tls: {enabled: true"* ]]; then
  ok "stack status says how to connect (config keys, CA file, credentials file)"
else
  bad "stack status" "$status"
fi
set -a; . "$D/secure/credentials"; set +a
export SPATE_CASSANDRA_CA="$SPATE_KAFKA_CA" # so a wrong Kafka CA leaves Cassandra's alone

# ---- a client with the wrong settings: one clear line, before anything is consumed
out="$(SPATE_KAFKA_PASSWORD=wrong S ingest --source api-sim --max-records 100 2>&1)"; rc=$?
if [ $rc -ne 0 ] && [[ "$out" == *"the broker refused the credentials of user 'spate' (SASL PLAIN): check kafka.properties sasl.username and sasl.password"* ]]; then
  ok "ingest, wrong password: exits $rc naming sasl.username/sasl.password"
else bad "ingest, wrong password (exit $rc)" "$out"; fi
out="$(SPATE_KAFKA_MECHANISM=SCRAM-SHA-512 SPATE_KAFKA_PASSWORD=wrong S ingest --source api-sim --max-records 100 2>&1)"; rc=$?
if [ $rc -ne 0 ] && [[ "$out" == *"(SASL SCRAM-SHA-512): check kafka.properties sasl.username and sasl.password"* ]]; then
  ok "ingest, SCRAM with a wrong password: exits $rc, and says when librdkafka cannot do SCRAM with Kafka 4"
else bad "ingest, SCRAM (exit $rc)" "$out"; fi
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TMP/other.key" -out "$TMP/other.crt" -days 2 \
  -subj "/CN=stranger" >/dev/null 2>&1
out="$(SPATE_KAFKA_CA="$TMP/other.crt" S ingest --source api-sim --max-records 100 2>&1)"; rc=$?
if [ $rc -ne 0 ] && [[ "$out" == *"the broker's TLS certificate is not trusted: it is not signed by a CA in kafka.properties ssl.ca.location ($TMP/other.crt)"* ]]; then
  ok "ingest, untrusted certificate: exits $rc naming ssl.ca.location"
else bad "ingest, untrusted certificate (exit $rc)" "$out"; fi
out="$(SPATE_KAFKA_PROTOCOL=PLAINTEXT S ingest --source api-sim --max-records 100 2>&1)"; rc=$?
if [ $rc -ne 0 ] && [[ "$out" == *"its listener probably expects TLS; kafka.properties security.protocol is PLAINTEXT"* ]]; then
  ok "ingest, PLAINTEXT against the SASL_SSL port: exits $rc naming security.protocol"
else bad "ingest, PLAINTEXT (exit $rc)" "$out"; fi
n=$(echo "$out" | grep -c "expects TLS")
[ "$n" -le 2 ] && ok "... said once (and once as the reason to exit), not once per attempt" || bad "the PLAINTEXT error repeats ($n lines)" "$out"

# ---- the whole pipeline, only the config changed ------------------------------
t0=$SECONDS
S run --for 40s --rate 500 --keep-stack --no-view >"$TMP/run.log" 2>&1
rc=$?
sed -n '/^record ledger/,$p' "$TMP/run.log"
if [ $rc -eq 0 ] && grep -q "OK: nothing lost, nothing duplicated" "$TMP/run.log"; then
  ok "spate run on the secure stack (ingest, Spark, sink, serve) verifies zero loss ($((SECONDS - t0)) s)"
else
  bad "spate run exited $rc" "$(grep -vE '^(spate run|  )' "$TMP/run.log" | tail -15)"
  mkdir -p "$SPATE_BUILD/it-logs"; cp "$TMP/run.log" "$SPATE_BUILD/it-logs/secure-run.log"
  for f in "$D"/run/*.log; do echo "--- $f"; tail -15 "$f"; done
fi
fetched=$(grep -oE 'ingest fetched [0-9]+' "$TMP/run.log" | grep -oE '[0-9]+$')
stored=$(S cql -k spate_secure --json --timeout 60s -e "SELECT count(*) AS n FROM users" 2>"$TMP/cql.err" |
  python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["n"])' 2>/dev/null)
if [ -n "$fetched" ] && [ "${fetched:-0}" -ge 10000 ] && [ -n "$stored" ] && [ "$stored" -gt 0 ]; then
  ok "spate cql over TLS with a password: $stored users stored of $fetched fetched"
else bad "stored '$stored' of fetched '$fetched'" "$(cat "$TMP/cql.err")"; fi
out="$(S check 2>&1)"; rc=$?
[ $rc -eq 0 ] && ok "spate check passes on the secure stack" || bad "spate check" "$out"

# serve reads over TLS with a password
"$SPATE_BIN" -c "$TMP/secure.yaml" serve >"$TMP/serve.log" 2>&1 & # not through S: $! is serve
spid=$!
body=""
for _ in $(seq 1 50); do
  body="$(curl -sf "http://127.0.0.1:$SPATE_SERVE_PORT/api/users?nationality=DE&limit=1" 2>/dev/null)" && break
  sleep 0.2
done
kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null
[[ "$body" == *user_id* ]] && ok "serve answers from the secure Cassandra" || bad "serve" "$body $(tail -5 "$TMP/serve.log")"

# ---- the sink and CQL with wrong settings; the ledger stays exact --------------
out="$(SPATE_KAFKA_PASSWORD=wrong S sink --for 20s 2>&1)"; rc=$?
if [ $rc -ne 0 ] && [[ "$out" == *"refused the credentials of user 'spate'"* ]]; then
  ok "sink, wrong Kafka password: exits $rc naming the setting"
else bad "sink, wrong Kafka password (exit $rc)" "$out"; fi
out="$(SPATE_KAFKA_CA="$TMP/other.crt" S sink --for 20s 2>&1)"; rc=$?
if [ $rc -ne 0 ] && [[ "$out" == *"TLS certificate is not trusted"* ]]; then
  ok "sink, untrusted broker certificate: exits $rc naming ssl.ca.location"
else bad "sink, untrusted certificate (exit $rc)" "$out"; fi
out="$(SPATE_KAFKA_PROTOCOL=PLAINTEXT S sink --for 20s 2>&1)"; rc=$?
if [ $rc -ne 0 ] && [[ "$out" == *"expects TLS"* ]]; then
  ok "sink, PLAINTEXT against the SASL_SSL port: exits $rc naming security.protocol"
else bad "sink, PLAINTEXT (exit $rc)" "$out"; fi
out="$(SPATE_CASSANDRA_PASSWORD=wrong S cql -k spate_secure -e "SELECT count(*) FROM users" 2>&1)"; rc=$?
if [ $rc -ne 0 ] && [[ "$out" == *"authentication as 'spate' failed"* ]]; then
  ok "cql, wrong password: $(echo "$out" | head -1)"
else bad "cql, wrong password (exit $rc)" "$out"; fi
out="$(SPATE_CASSANDRA_CA="$TMP/other.crt" S cql -k spate_secure -e "SELECT count(*) FROM users" 2>&1)"; rc=$?
if [ $rc -ne 0 ] && [[ "$out" == *"certificate verif"* ]]; then
  ok "cql, untrusted certificate: $(echo "$out" | head -1)"
else bad "cql, untrusted certificate (exit $rc)" "$out"; fi
out="$(SPATE_CASSANDRA_TLS=false S cql -k spate_secure -e "SELECT count(*) FROM users" 2>&1)"; rc=$?
if [ $rc -ne 0 ] && [[ "$out" == *"requires TLS"* ]] && [[ "$out" == *"cassandra.tls.enabled"* ]]; then
  ok "cql without TLS against the TLS port: $(echo "$out" | head -1)"
else bad "cql without TLS (exit $rc)" "$out"; fi
out="$(SPATE_CASSANDRA_PASSWORD=wrong S sink --for 20s 2>&1)"; rc=$?
if [ $rc -ne 0 ] && [[ "$out" == *"authentication as 'spate' failed"* ]]; then
  ok "sink, wrong Cassandra password: exits $rc"
else bad "sink, wrong Cassandra password (exit $rc)" "$out"; fi

out="$(S verify 2>&1)"; rc=$?
if [ $rc -eq 0 ] && [[ "$out" == *"OK: nothing lost, nothing duplicated"* ]]; then
  ok "after the refused clients spate verify is still exact"
else bad "verify after the refused clients (exit $rc)" "$out"; fi
