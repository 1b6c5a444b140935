#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# restart.sh -- kill -9 of ingest mid-stream (issue 15). The pages produced after the last
# state save are fetched again on restart; every copy of a record must carry the
# spate.fetched_at of the first, or users_by_nationality (keyed by day(ingested_at) and
# ingested_at) stores the user twice. api-sim serves 60 deterministic pages of 100, one at
# a time, 100 ms each; ingest is killed 15 pages into a run, right after a page reached
# Kafka that the state file does not count as complete yet (so it is certain to be fetched
# again), twice, then runs to the end.
#
# Environment: SPATE_BIN, SPATE_KAFKA. Called by run.sh; runs alone too.
# Prints "N passed, N failed".
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SPATE_BIN="${SPATE_BIN:-$HERE/../../../build/spate}"
SPATE_KAFKA="${SPATE_KAFKA:-127.0.0.1:9092}"
RUN="$(date +%s)-$$"
WORK="$(mktemp -d /tmp/spate-it-restart.XXXXXX)"
PY="${SPATE_PY:-python3}"
command -v "$PY" >/dev/null 2>&1 || PY=python3
PAGES=60
BATCH=100
KILLS=2
passed=0
failed=0
pids=()

ok() { echo "ok   $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1"; failed=$((failed + 1)); }
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
  "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

APISIM_PORT="$(free_port)"
"$SPATE_BIN" api-sim --port "$APISIM_PORT" --threads 2 --latency 100ms \
  --total-users $((PAGES * BATCH)) >"$WORK/apisim.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 150); do
  curl -fsS -o /dev/null "http://127.0.0.1:$APISIM_PORT/health" 2>/dev/null && break
  sleep 0.1
done

SEED="restart-$RUN"
T="it-ingest-$RUN-restart"
STATE="$WORK/state/ingest/killed.state"
cat >"$WORK/c.yaml" <<EOF
log_level: warn
kafka:
  bootstrap_servers: $SPATE_KAFKA
  partitions: 1
  replication_factor: 1
sources:
  - name: killed
    url: http://127.0.0.1:$APISIM_PORT/api/
    seed: $SEED
    batch_size: $BATCH
    concurrency: 1
    pagination:
      style: page
stack:
  data_dir: $WORK/state
metrics:
  ingest_port: 0
EOF

# Records in the topic (one partition, no transactions: the end offset) and the page the
# state file resumes at.
end_offset() { kcat -b "$SPATE_KAFKA" -Q -t "$T:0:-1" 2>/dev/null | awk '{print $NF}'; }
resume_page() { sed -n 's/^next_page //p' "$STATE" 2>/dev/null; }
# A restart fetches page N (the resume page) again; its records are already in the topic
# when the topic holds more than the N - 1 pages before it.
refetch_due() { [ -n "$1" ] && [ -n "$2" ] && [ "$1" -gt $(( ($2 - 1) * BATCH )) ]; }

landed=0
attempt=0
while [ $landed -lt $KILLS ] && [ $attempt -lt 6 ]; do
  attempt=$((attempt + 1))
  h0="$(end_offset)"
  "$SPATE_BIN" -c "$WORK/c.yaml" ingest --metrics-port 0 --topic-raw "$T" --topic-dlq "$T.dlq" \
    >"$WORK/run$attempt.out" 2>"$WORK/run$attempt.err" &
  ipid=$!
  pids+=("$ipid")
  killed=0
  for _ in $(seq 1 1500); do
    kill -0 "$ipid" 2>/dev/null || break
    h="$(end_offset)"
    # mid-stream: 15 pages (1.5 s) into this run, past its first state saves
    if [ "${h:-0}" -ge $(( ${h0:-0} + 15 * BATCH )) ] && refetch_due "$h" "$(resume_page)"; then
      kill -9 "$ipid"
      killed=1
      break
    fi
    sleep 0.02
  done
  wait "$ipid" 2>/dev/null
  h="$(end_offset)"
  n="$(resume_page)"
  if [ $killed = 1 ] && refetch_due "$h" "$n"; then
    landed=$((landed + 1))
    echo "  kill -9 $attempt: $h records in the topic, the state resumes at page $n"
  else
    echo "  kill -9 $attempt: missed (killed=$killed, $h records, state at page $n)"
  fi
done
"$SPATE_BIN" -c "$WORK/c.yaml" ingest --metrics-port 0 --topic-raw "$T" --topic-dlq "$T.dlq" \
  >"$WORK/last.out" 2>"$WORK/last.err"
rc=$?
echo "  last run (rc=$rc): $(tr '\n' ' ' <"$WORK/last.out")"

"$SPATE_BIN" api-sim keys --seed "$SEED" --pages "1-$PAGES" --results $BATCH | cut -f1 | sort \
  >"$WORK/served"
kcat -b "$SPATE_KAFKA" -C -t "$T" -e -q -f '%k %h\n' 2>/dev/null >"$WORK/topic"
# key -> the distinct spate.fetched_at values of its copies
read -r total keys twice differ example < <(awk '
  { fa = ""; if (match($0, /spate\.fetched_at=[0-9]+/)) fa = substr($0, RSTART + 17, RLENGTH - 17)
    n[$1]++; if (!((($1) SUBSEP fa) in seen)) { seen[$1, fa] = 1; v[$1]++; ex[$1] = ex[$1] " " fa } }
  END { k = 0; t = 0; d = 0; e = "-"
    for (x in n) { k++; if (n[x] > 1) t++; if (v[x] > 1) { d++; e = x ":" ex[x] } }
    gsub(/ /, ",", e); print NR, k, t, d, e }' "$WORK/topic")
cut -d' ' -f1 "$WORK/topic" | sort -u >"$WORK/consumed"
if [ $rc -eq 0 ] && [ -s "$WORK/served" ] && cmp -s "$WORK/served" "$WORK/consumed"; then
  ok "kill -9 twice mid-stream, then a run to the end: all $keys keys served are in the topic"
else
  bad "keys in the topic ($keys, rc=$rc) are not the $(wc -l <"$WORK/served") served: $(tr '\n' ' ' <"$WORK/last.err" | tail -c 600)"
fi
if [ "$landed" -ge 1 ] && [ "${twice:-0}" -gt 0 ]; then
  ok "the kills made ingest fetch pages again: $twice keys produced more than once ($total records)"
else
  bad "no page was fetched again ($landed kills landed, ${twice:-0} keys twice): the test did not exercise a re-fetch"
fi
if [ "${twice:-0}" -gt 0 ] && [ "${differ:-1}" -eq 0 ]; then
  ok "each of the $twice keys produced more than once carries one spate.fetched_at on every copy"
else
  bad "keys whose copies carry different spate.fetched_at: ${differ:-?} of ${twice:-0} (e.g. $example)"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
