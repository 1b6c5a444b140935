#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# e2e/run.sh -- the main job end to end on the test stack: `spate run` streams
# api-sim -> ingest -> Kafka -> Spark -> Kafka -> sink -> Cassandra for 2
# minutes at 2,000 records/s and must verify with zero loss; a second run against
# a hostile API must verify as well; then `spate check` passes on the result and
# catches each broken contract in turn.
set -uo pipefail
cd "$SPATE_ROOT"
passed=0
failed=0
ok() { echo "ok   $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1"; failed=$((failed + 1)); }
TMP="$(mktemp -d /tmp/spate-it-e2e.XXXXXX)"
trap 'rm -rf "$TMP"' EXIT

# spate.yaml itself, pointed at the test stack through its ${VAR:-default}s.
export SPATE_KAFKA_PORT="${SPATE_KAFKA##*:}"
export SPATE_KAFKA_CONTROLLER_PORT=$((SPATE_KAFKA_PORT + 1))
export SPATE_CASSANDRA_STORAGE_PORT="${SPATE_IT_CASSANDRA_STORAGE_PORT:-27000}"
export SPATE_STATE_DIR="$SPATE_IT_STATE"
export SPATE_KEYSPACE=spate_e2e
export SPATE_APISIM_PORT=28188 SPATE_INGEST_METRICS_PORT=29501 SPATE_SINK_METRICS_PORT=29502
export SPATE_SERVE_PORT=28180 SPATE_SERVE_METRICS_PORT=29503 SPATE_SINK_GROUP="spate-sink-e2e"
export SPATE_SOURCE_URL="http://127.0.0.1:${SPATE_APISIM_PORT}/api/"
unset SPATE_KAFKA # derived from SPATE_KAFKA_PORT in spate.yaml
S() { "$SPATE_BIN" -c spate.yaml "$@"; }

RATE="${SPATE_E2E_RATE:-2000}"
DURATION="${SPATE_E2E_FOR:-2m}"
t0=$SECONDS
S run --for "$DURATION" --rate "$RATE" --keep-stack --no-view >"$TMP/run.log" 2>&1
rc=$?
grep -vE '^(spate run|  )' "$TMP/run.log" | tail -5
sed -n '/^record ledger/,$p' "$TMP/run.log"
if [ $rc -eq 0 ] && grep -q "OK: nothing lost, nothing duplicated" "$TMP/run.log"; then
  ok "spate run --for $DURATION --rate $RATE exits 0 and verifies zero loss ($((SECONDS - t0)) s)"
else
  bad "spate run exited $rc (log kept in $SPATE_BUILD/it-logs/e2e-run.log)"
  mkdir -p "$SPATE_BUILD/it-logs"; cp "$TMP/run.log" "$SPATE_BUILD/it-logs/e2e-run.log"
  for f in "$SPATE_IT_STATE"/run/*.log; do echo "--- $f"; tail -15 "$f"; done
fi
fetched=$(grep -oE 'ingest fetched [0-9]+' "$TMP/run.log" | grep -oE '[0-9]+$')
stored=$(S cql -k spate_e2e --json --timeout 60s -e "SELECT count(*) AS n FROM users" 2>/dev/null |
  python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["n"])' 2>/dev/null)
dlq=$(S verify --json 2>/dev/null | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["dlq"]["ingest"]+d["dlq"]["process"]+d["dlq"]["sink"])' 2>/dev/null)
if [ -n "$fetched" ] && [ "$fetched" -gt 0 ] && [ -n "$stored" ] && [ -n "$dlq" ] &&
   [ "$stored" -eq $((fetched - dlq)) ]; then
  ok "stored rows ($stored) = fetched ($fetched) - DLQ ($dlq)"
else
  bad "stored rows '$stored' != fetched '$fetched' - DLQ '$dlq'"
fi
min=$(( RATE * 60 ))
if [ -n "$fetched" ] && [ "$fetched" -ge "$min" ]; then ok "fetched $fetched records (at least $min)";
else bad "fetched only '$fetched' records, expected at least $min"; fi

# ---- an API nobody on the project wrote: the ledger stays exact ----
# api-sim serves a share of keys the way real APIs do (repeated within and
# across pages, upper case, blank-padded) and answers some attempts with a
# body that is not JSON (ingest sends it to the DLQ once and retries). Nothing
# is lost, so `spate run` must verify OK: no repeat blamed on ingest, no
# normalised key counted missing, no rejected response counted as records.
# Some first names end in a lone surrogate escape or a byte that is not UTF-8:
# Spark rejects those records with a reason instead of storing them altered.
HOSTILE_FOR="${SPATE_E2E_HOSTILE_FOR:-40s}"
since=$(date +%s%3N)
t0=$SECONDS
SPATE_SOURCE_URL="http://127.0.0.1:${SPATE_APISIM_PORT}/api/?seed=e2e-hostile&messy_keys=0.1&malformed=0.1&bad_text=0.02" \
  S run --for "$HOSTILE_FOR" --rate 1000 --keep-stack --no-view >"$TMP/hostile.log" 2>&1
rc=$?
sed -n '/^record ledger/,$p' "$TMP/hostile.log"
if [ $rc -eq 0 ] && grep -q "OK: nothing lost, nothing duplicated" "$TMP/hostile.log"; then
  ok "hostile API (repeated, upper-case, padded keys; non-JSON pages): spate run verifies OK ($((SECONDS - t0)) s)"
else
  bad "hostile API: spate run exited $rc (log kept in $SPATE_BUILD/it-logs/e2e-hostile.log)"
  mkdir -p "$SPATE_BUILD/it-logs"; cp "$TMP/hostile.log" "$SPATE_BUILD/it-logs/e2e-hostile.log"
  for f in "$SPATE_IT_STATE"/run/*.log; do echo "--- $f"; tail -15 "$f"; done
fi
# The fixture did serve what it should: repeats within and across responses, a
# rejected response, upper-case keys in users.raw.
S verify --since "$since" --json >"$TMP/hostile.json" 2>/dev/null
upper=$(kcat -C -b "127.0.0.1:$SPATE_KAFKA_PORT" -t users.raw -e -q -f '%T %k\n' 2>/dev/null |
  awk -v s="$since" '$1 >= s' | grep -c -E ' .*[A-F]')
if python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
r = d["raw"]
sys.exit(not (d["ok"] and r["api_repeated_in_response"] > 0 and r["api_repeated"] > r["api_repeated_in_response"]
              and d["dlq"]["ingest_responses"] >= 1))' "$TMP/hostile.json" && [ "${upper:-0}" -gt 0 ]; then
  ok "the hostile run served repeats within and across pages, $upper upper-case keys and rejected responses"
else
  bad "the hostile fixture: upper-case keys '${upper}', verify: $(cat "$TMP/hostile.json")"
fi

# Names Spark cannot carry unchanged: rejected with their reason, none stored
# altered (before: "Name?" for the escape, U+FFFD for the byte, no trace).
S cql -k spate_e2e --json --timeout 60s -e "SELECT reason FROM rejected_by_day WHERE day = '$(date -u +%F)'" \
  >"$TMP/reasons.json" 2>/dev/null
S cql -k spate_e2e --json --timeout 60s -e "SELECT first_name FROM users" >"$TMP/names.json" 2>/dev/null
if python3 -c '
import collections, json, sys
reasons = collections.Counter(json.loads(l)["reason"] for l in open(sys.argv[1]) if l.strip())
names = [json.loads(l)["first_name"] or "" for l in open(sys.argv[2]) if l.strip()]
altered = [n for n in names if "?" in n or "\ufffd" in n]
lone, bad = reasons["lone_surrogate"], reasons["invalid_utf8"]
print(f"  rejected: lone_surrogate {lone}, invalid_utf8 {bad}; {len(names)} stored names, "
      f"{len(altered)} altered {altered[:3]}")
sys.exit(not (reasons["lone_surrogate"] > 0 and reasons["invalid_utf8"] > 0 and names and not altered))
' "$TMP/reasons.json" "$TMP/names.json"; then
  ok "names with a lone surrogate escape or bytes that are not UTF-8 are rejected with their reason, none stored altered"
else
  bad "altered names stored, or no lone_surrogate/invalid_utf8 rejects"
fi

# ---- spate check: passes on the running result, then each broken contract ----
out="$(S check 2>&1)"; rc=$?
if [ $rc -eq 0 ]; then ok "spate check passes against the stack the run left"; else bad "spate check: $out"; fi

export SPATE_KEYSPACE=spate_e2e_broken
S schema apply >/dev/null 2>&1
S cql -k spate_e2e_broken -e "ALTER TABLE users DROP email" >/dev/null 2>&1
out="$(S check 2>&1)"; rc=$?
if [ $rc -ne 0 ] && [[ "$out" == *"spate_e2e_broken.users has no column email"* ]]; then
  ok "check catches a missing column"; else bad "missing column not caught: $out"; fi
# Cassandra refuses to re-add a dropped column with another type, so the
# wrong type lives in a table made by hand. check applies the sink's rule: an
# integer field fits a boolean column (the sink writes 0/1), a uuid does not.
S cql -e "CREATE KEYSPACE IF NOT EXISTS spate_e2e_wrongtype WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}; DROP TABLE IF EXISTS spate_e2e_wrongtype.users; CREATE TABLE spate_e2e_wrongtype.users (user_id uuid PRIMARY KEY, age boolean, street_number uuid)" >/dev/null 2>&1
out="$(SPATE_KEYSPACE=spate_e2e_wrongtype S check 2>&1)"; rc=$?
if [ $rc -ne 0 ] && [[ "$out" == *"spate_e2e_wrongtype.users.street_number is uuid, which cannot hold the mapping from street_number"* ]] &&
   [[ "$out" != *"users.age is"* ]]; then
  ok "check catches a column of the wrong type, and agrees with the sink on integer -> boolean"
else bad "wrong type not caught, or age boolean refused: $out"; fi
export SPATE_KEYSPACE=spate_e2e

# A key column fed from a field no validation rule guarantees: without the
# missing_nationality rule a user without `nat` reaches users.clean and the sink
# must refuse it for users_by_nationality, so it is in neither table.
mkdir -p "$TMP/sql" && cp pipelines/users/*.sql "$TMP/sql/"
sed -i "/THEN 'missing_nationality'/d" "$TMP/sql/users_parsed.view.sql"
sed "s#sql_dir: pipelines/users#sql_dir: $TMP/sql#" spate.yaml >"$TMP/nokey.yaml"
out="$("$SPATE_BIN" -c "$TMP/nokey.yaml" check 2>&1)"; rc=$?
if [ $rc -ne 0 ] && [[ "$out" == *"users_by_nationality.nationality is a key column fed from field 'nationality', which users.clean does not guarantee"* ]] &&
   [[ "$out" != *"users.user_id is a key column"* ]]; then
  ok "check names a key column whose field no validation rule guarantees"
else bad "nullable key column not caught: $out"; fi

out="$(SPATE_KAFKA=127.0.0.1:1 S check --timeout 3000 2>&1)"; rc=$?
if [ $rc -ne 0 ] && [[ "$out" == *"kafka: no broker of 127.0.0.1:1 answers"* ]]; then
  ok "check catches an unreachable broker"; else bad "unreachable broker not caught: $out"; fi

printf '#!/bin/sh\necho 3.5.1\n' >"$TMP/python"; chmod +x "$TMP/python"
out="$(SPATE_PYTHON="$TMP/python" S check 2>&1)"; rc=$?
if [ $rc -ne 0 ] && [[ "$out" == *"pyspark 3.5.1 found, the pipeline needs Spark 4.2.0"* ]]; then
  ok "check catches a wrong Spark version"; else bad "wrong Spark version not caught: $out"; fi

echo "e2e: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
