#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# init/run.sh -- `spate init` on three API shapes served offline (fixture_api.py):
# a randomuser-like API (nested objects, page numbers), an events feed (arrays of
# objects, optional fields, ISO times, a cursor) and a time series (a record per
# timestamp, numeric fields, a Link header). For each: spate init -> spate run
# -> rows in Cassandra with the inferred types -> spate verify OK, no hand edits.
# Then bad samples, determinism, and the users pipeline left as it was.
set -uo pipefail
cd "$SPATE_ROOT"
passed=0
failed=0
ok() { echo "ok   $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1"; failed=$((failed + 1)); }
TMP="$(mktemp -d /tmp/spate-it-init.XXXXXX)"
FX_PORT=28711
"$SPATE_PY" tests/integration/init/fixture_api.py "$FX_PORT" 4 &
FX_PID=$!
trap 'kill $FX_PID 2>/dev/null; wait $FX_PID 2>/dev/null; rm -rf "$TMP"' EXIT
API="http://127.0.0.1:$FX_PORT"

# A project folder of a user: spate.yaml, the users pipeline, its schema.
mkdir -p "$TMP/proj/pipelines"
cp spate.yaml "$TMP/proj/"
cp -r pipelines/users "$TMP/proj/pipelines/"
cp -r schema "$TMP/proj/schema"
ln -s "$SPATE_ROOT/.venv" "$TMP/proj/.venv"
ln -s "$SPATE_ROOT/spark" "$TMP/proj/spark"
ln -s "$SPATE_ROOT/deps" "$TMP/proj/deps"
cd "$TMP/proj"
export SPATE_KAFKA_PORT="${SPATE_KAFKA##*:}"
export SPATE_KAFKA_CONTROLLER_PORT=$((SPATE_KAFKA_PORT + 1))
export SPATE_CASSANDRA_STORAGE_PORT="${SPATE_IT_CASSANDRA_STORAGE_PORT:-27000}"
export SPATE_STATE_DIR="$SPATE_IT_STATE"
export SPATE_KEYSPACE=spate_init
export SPATE_APISIM_PORT=28288 SPATE_INGEST_METRICS_PORT=29601 SPATE_SINK_METRICS_PORT=29602
export SPATE_SERVE_PORT=28280 SPATE_SINK_GROUP="spate-sink-init-$SPATE_RUN_ID"
unset SPATE_KAFKA SPATE_PIPELINE
S() { "$SPATE_BIN" -c spate.yaml "$@"; }
for _ in $(seq 50); do curl -sf "$API/users" >/dev/null && break; sleep 0.1; done

# ---- bad samples: a clear error naming what was wrong, nothing written ----
expect_fail() { # url words...
  local url="$1"; shift
  local out rc
  out="$(S init badone --url "$url" 2>&1)"; rc=$?
  if [ $rc -eq 1 ] && echo "$out" | grep -q -- "$*" && [ ! -e pipelines/badone ]; then
    ok "bad sample $url: exit 1, says '$*'"
  else
    bad "bad sample $url: exit $rc, output: $out"
  fi
}
expect_fail "$API/bad/notjson" "not JSON"
expect_fail "$API/bad/scalar" "neither an object nor an array"
expect_fail "$API/bad/empty" "empty page"
expect_fail "$API/bad/nokey" "no usable key"
expect_fail "$API/nothing-here" "HTTP status 404"

# ---- the three shapes ----
check_types() { # table "col type" ...
  local table="$1"; shift
  local got
  got="$(S cql --json -e "SELECT column_name, type FROM system_schema.columns WHERE keyspace_name = 'spate_init' AND table_name = '$table'" 2>&1)"
  for pair in "$@"; do
    local c="${pair% *}" t="${pair#* }"
    if ! echo "$got" | grep -q "\"column_name\": *\"$c\", *\"type\": *\"$t\""; then
      bad "$table.$c is not $t: $got"; return
    fi
  done
  ok "$table columns typed as inferred: $*"
}

shape() { # name url expected-rows init-args... ; then types
  local name="$1" url="$2" rows="$3"; shift 3
  local t0=$SECONDS
  if S init "$name" --url "$url" "$@" >"$TMP/init-$name.log" 2>&1; then
    ok "spate init $name --url $url $*"
  else
    bad "spate init $name: $(tail -3 "$TMP/init-$name.log")"; return 1
  fi
  grep -E '^(pagination|records path|key):' "$TMP/init-$name.log"
  S config validate >/dev/null 2>&1 && ok "spate.yaml with the include of $name validates" ||
    bad "spate config validate after init $name: $(S config validate 2>&1)"
  S --pipeline "$name" run --for 15s --rate 200 --keep-stack --no-view >"$TMP/run-$name.log" 2>&1
  local rc=$?
  if [ $rc -eq 0 ] && grep -q "OK: nothing lost, nothing duplicated" "$TMP/run-$name.log"; then
    ok "spate --pipeline $name run: exit 0, verified ($((SECONDS - t0)) s)"
  else
    bad "spate --pipeline $name run exited $rc"
    mkdir -p "$SPATE_BUILD/it-logs"; cp "$TMP/run-$name.log" "$SPATE_BUILD/it-logs/init-run-$name.log"
    tail -30 "$TMP/run-$name.log"
    for f in "$SPATE_IT_STATE"/run/*.log; do echo "--- $f"; tail -8 "$f"; done
  fi
  local n
  n=$(S cql --json -e "SELECT count(*) AS n FROM spate_init.$name" 2>/dev/null |
      "$SPATE_PY" -c 'import json,sys; print(json.loads(sys.stdin.readline())["n"])' 2>/dev/null)
  [ "$n" = "$rows" ] && ok "$name: $n rows stored" || bad "$name: '$n' rows stored, expected $rows"
  # OK over the records of this pipeline, not over an empty topic
  local raw
  raw=$(S --pipeline "$name" verify --json 2>"$TMP/verify-$name.log" |
        "$SPATE_PY" -c 'import json,sys; d=json.load(sys.stdin); print(d["raw"]["records"] if d["ok"] else "not ok")' 2>>"$TMP/verify-$name.log")
  if [ "$raw" = "$rows" ]; then
    ok "spate --pipeline $name verify: OK over $raw raw records"
  else
    bad "spate --pipeline $name verify: raw records '$raw', expected $rows and OK; $(tail -3 "$TMP/verify-$name.log")"
  fi
}

shape people "$API/users?page=1" 100 --by nat --pages 2
check_types people "login_uuid uuid" "dob_age bigint" "dob_date timestamp" \
  "location_coordinates_latitude double" "location_postcode text" "ingested_at timestamp"
check_types people_by_nat "nat text" "day date"
shape events "$API/events" 100
check_types events "id text" "occurred_at timestamp" "actor_id bigint" "amount double" \
  "items text" "note text"
# page 4 of the events feed has a field the 3-page sample did not: stored all the
# same (above); --update proposes the column and the SQL
out="$(S init events --url "$API/events" --pages 4 --update 2>&1)"
if echo "$out" | grep -q 'ALTER TABLE spate_init.events ADD region text;' &&
   echo "$out" | grep -q "'region', \`region\`"; then
  ok "init --update on a drifted sample proposes ALTER TABLE ... ADD region text and the SQL"
else
  bad "init --update: $out"
fi
shape weather "$API/series" 100
check_types weather "time text" "temp double" "count bigint" "ok boolean"

# a DLQ row of a pipeline lands in its own table, with the rule
# (every fixture record is valid: the DLQ tables exist and are empty)
n=$(S cql --json -e "SELECT count(*) AS n FROM spate_init.events_rejected_by_day" 2>/dev/null |
    "$SPATE_PY" -c 'import json,sys; print(json.loads(sys.stdin.readline())["n"])' 2>/dev/null)
[ "$n" = "0" ] && ok "events_rejected_by_day exists and holds no row" || bad "events DLQ table: '$n'"

# ---- the same sample gives the same files ----
mkdir -p "$TMP/again" && cp spate.yaml "$TMP/again/"
(cd "$TMP/again" && "$SPATE_BIN" -c spate.yaml init events --url "$API/events" >/dev/null 2>&1)
if diff -r pipelines/events "$TMP/again/pipelines/events" >/dev/null &&
   diff -r schema/events "$TMP/again/schema/events" >/dev/null; then
  ok "same sample, same files"
else
  bad "init twice gave different files: $(diff -r pipelines/events "$TMP/again/pipelines/events" | head -5)"
fi

# ---- the users pipeline is as it was ----
topics="$(S config show | grep '^kafka.topics')"
[ "$topics" = "kafka.topics: users.raw users.clean users.stats users.dlq" ] &&
  ok "without --pipeline: the users pipeline's topics" || bad "users topics changed: $topics"
srcs="$(S config show | grep '^sources')"
echo "$srcs" | grep -qv "events" && ok "without --pipeline: no source of another pipeline" ||
  bad "users sources: $srcs"

# ---- every pipeline in one `spate run`: users + one of `spate init` ----
# A project of its own (its keyspace, a pipeline name no earlier case used), so
# the counts are this run's. One ingest, one Spark session, one sink for both.
mkdir -p "$TMP/all/pipelines"
cp "$SPATE_ROOT/spate.yaml" "$TMP/all/"
cp -r "$SPATE_ROOT/pipelines/users" "$TMP/all/pipelines/"
cp -r "$SPATE_ROOT/schema" "$TMP/all/schema"
for l in .venv spark deps; do ln -s "$SPATE_ROOT/$l" "$TMP/all/$l"; done
# the users pipeline on topics and checkpoints of its own: an earlier suite on the
# shared stack (e2e) leaves users.clean full, and the sink would store it all again
sed -i -e "s/users\.\(raw\|clean\|stats\|dlq\)/allp_users.\1/" \
  -e "s#^  sql_dir: pipelines/users#&\n  checkpoint_dir: $TMP/all/checkpoints#" "$TMP/all/spate.yaml"
cd "$TMP/all"
export SPATE_KEYSPACE=spate_allp
S init feed --url "$API/events" >"$TMP/init-feed.log" 2>&1 || bad "init feed: $(tail -3 "$TMP/init-feed.log")"
t0=$SECONDS
S run --for 20s --rate 100 --keep-stack --no-view >"$TMP/run-all.log" 2>&1
rc=$?
if [ $rc -eq 0 ] && grep -q "every pipeline of the config: users, feed" "$TMP/run-all.log" &&
   [ "$(grep -c "OK: nothing lost, nothing duplicated" "$TMP/run-all.log")" = 2 ]; then
  ok "spate run (no --pipeline): users and feed side by side, both ledgers OK ($((SECONDS - t0)) s)"
else
  bad "spate run of every pipeline exited $rc"
  mkdir -p "$SPATE_BUILD/it-logs"; cp "$TMP/run-all.log" "$SPATE_BUILD/it-logs/init-run-all.log"
  tail -40 "$TMP/run-all.log"
  for f in "$SPATE_IT_STATE"/run/*.log; do echo "--- $f"; tail -8 "$f"; done
fi
n_starts=$(grep -c "started spark" "$TMP/run-all.log")
grep -q "query feed.clean started" "$SPATE_IT_STATE/run/spark.log" && [ "$n_starts" -le 1 ] &&
  ok "one Spark job ran both pipelines' queries" ||
  bad "Spark: $n_starts starts, feed.clean: $(grep -c 'feed.clean' "$SPATE_IT_STATE/run/spark.log")"
grep -qE "^  feed +[0-9,]+ " "$TMP/run-all.log" &&
  ok "the live view (from /api/pipeline's pipelines) has a row for feed" ||
  bad "no feed row in the live view"
count() { S cql --json -e "SELECT count(*) AS n FROM spate_allp.$1" 2>/dev/null |
          "$SPATE_PY" -c 'import json,sys; print(json.loads(sys.stdin.readline())["n"])' 2>/dev/null; }
nf=$(count feed)
nu=$(count users)
[ "$nf" = 100 ] && [ "${nu:-0}" -gt 0 ] 2>/dev/null &&
  ok "rows in both keyspace tables: feed $nf, users $nu" || bad "rows: feed '$nf' (want 100), users '$nu'"
S verify >"$TMP/verify-all.log" 2>&1
rc=$?
if [ $rc -eq 0 ] && grep -q "^pipeline users:" "$TMP/verify-all.log" &&
   grep -q "^pipeline feed:" "$TMP/verify-all.log" &&
   grep -q "every pipeline: OK (users, feed)" "$TMP/verify-all.log"; then
  ok "spate verify (no --pipeline): a ledger for users and one for feed, both OK"
else
  bad "spate verify of every pipeline exited $rc: $(tail -5 "$TMP/verify-all.log")"
fi

# ---- a source that brings nothing fails the run, naming it ----
dead="http://127.0.0.1:9/events"
sed -i "s#url: .*#url: $dead#" pipelines/feed/pipeline.yaml
S --pipeline feed run --for 8s --rate 100 --keep-stack --no-view >"$TMP/run-dead.log" 2>&1
rc=$?
if [ $rc -ne 0 ] && grep -q "pipeline feed: ingest produced no record from source .*($dead)" "$TMP/run-dead.log"; then
  ok "a pipeline whose ingest produced nothing: exit $rc, names the pipeline and $dead"
else
  bad "dead source: exit $rc, $(grep -i 'produced\|OK:' "$TMP/run-dead.log" | tail -3)"
fi
export SPATE_KEYSPACE=spate_init
cd "$TMP/proj"

echo
echo "init: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
