#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# run.sh -- integration tests of `spate ingest` against a real Kafka, api-sim and a small
# scripted API (fake_api.py): pagination styles, resume, DLQ reasons, kill -9 mid-run
# (restart.sh), 1M records, faults, SIGTERM mid-run, metrics; then outage.sh (a private
# broker stopped for 20 s mid-run; INGEST_IT_SKIP_OUTAGE=1 skips it).
#
# Environment: SPATE_BIN (the spate binary), SPATE_KAFKA (bootstrap, default
# 127.0.0.1:9092), SPATE_BUILD (where it_ingest_verify is; default: next to SPATE_BIN).
# INGEST_IT_RECORDS overrides the size of the big run (default 1000000).
# Every topic name carries a run id, so runs never collide. Prints "N passed, N failed".
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SPATE_BIN="${SPATE_BIN:-$HERE/../../../build/spate}"
SPATE_KAFKA="${SPATE_KAFKA:-127.0.0.1:9092}"
SPATE_BUILD="${SPATE_BUILD:-$(dirname "$SPATE_BIN")}"
VERIFY="$SPATE_BUILD/it_ingest_verify"
BIG="${INGEST_IT_RECORDS:-1000000}"
RUN="$(date +%s)-$$"
WORK="$(mktemp -d /tmp/spate-it-ingest.XXXXXX)"
PY="${SPATE_PY:-python3}"
command -v "$PY" >/dev/null 2>&1 || PY=python3

passed=0
failed=0
failures=()
pids=()

ok() { echo "ok   $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1"; failed=$((failed + 1)); failures+=("$1"); }
check() { # check NAME COMMAND...
  local name="$1"; shift
  if "$@"; then ok "$name"; else bad "$name"; fi
}

cleanup() {
  for p in "${pids[@]}"; do
    kill "$p" 2>/dev/null
  done
  for p in "${pids[@]}"; do
    wait "$p" 2>/dev/null
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
  "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_http() { # wait_http URL -- up to 15 s
  for _ in $(seq 1 150); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

start_apisim() { # start_apisim NAME ARGS... -> sets APISIM_PORT, APISIM_PID
  APISIM_PORT="$(free_port)"
  "$SPATE_BIN" api-sim --port "$APISIM_PORT" --threads 2 "${@:2}" >"$WORK/$1.apisim.log" 2>&1 &
  APISIM_PID=$!
  pids+=("$APISIM_PID")
  wait_http "http://127.0.0.1:$APISIM_PORT/health"
}

stop_pid() {
  kill "$1" 2>/dev/null
  wait "$1" 2>/dev/null
  return 0
}

# write_config FILE SOURCES_YAML -- a config with this run's Kafka and state dir.
write_config() {
  cat >"$1" <<EOF
log_level: warn
kafka:
  bootstrap_servers: $SPATE_KAFKA
  partitions: 3
  replication_factor: 1
  compression: lz4
sources:
$2
stack:
  data_dir: $WORK/state
metrics:
  ingest_port: 0
EOF
}

ingest() { # ingest CONFIG ARGS...  (summary line on stdout)
  "$SPATE_BIN" -c "$1" ingest --metrics-port 0 "${@:2}"
}

summary_field() { # summary_field FILE NAME -> value
  grep -o "$2=[0-9]*" "$1" | tail -1 | cut -d= -f2
}

topic() { echo "it-ingest-$RUN-$1"; }

echo "ingest suite: kafka $SPATE_KAFKA, work dir $WORK"
if [ ! -x "$SPATE_BIN" ] || [ ! -x "$VERIFY" ]; then
  bad "binaries present ($SPATE_BIN, $VERIFY)"
  echo "$passed passed, $failed failed"
  exit 1
fi

# ---- command line -------------------------------------------------------------------
check "ingest --help exits 0" bash -c "'$SPATE_BIN' ingest --help | grep -q -- '--max-records'"
"$SPATE_BIN" ingest --bogus >/dev/null 2>&1
check "unknown option exits 2" test $? -eq 2
write_config "$WORK/none.yaml" "  - name: x
    url: http://127.0.0.1:1/"
"$SPATE_BIN" -c "$WORK/none.yaml" ingest --source nope >/dev/null 2>&1
check "unknown source exits 2" test $? -eq 2

# ---- pagination styles against the scripted API ------------------------------------
FAKE_PORT="$(free_port)"
"$PY" "$HERE/fake_api.py" "$FAKE_PORT" 2000 >"$WORK/fake.log" 2>&1 &
FAKE_PID=$!
pids+=("$FAKE_PID")
wait_http "http://127.0.0.1:$FAKE_PORT/stats" || bad "fake API starts"
F="http://127.0.0.1:$FAKE_PORT"

for style in page cursor link; do
  case $style in
    page) src="  - name: f$style
    url: $F/page
    batch_size: 100
    concurrency: 4
    pagination:
      style: page" ;;
    cursor) src="  - name: f$style
    url: $F/cursor
    records_path: data.items
    batch_size: 70
    pagination:
      style: cursor
      cursor_path: next" ;;
    link) src="  - name: f$style
    url: $F/link
    batch_size: 130
    pagination:
      style: link" ;;
  esac
  write_config "$WORK/$style.yaml" "$src"
  t="$(topic "$style")"
  ingest "$WORK/$style.yaml" --topic-raw "$t" --topic-dlq "$t.dlq" >"$WORK/$style.out" 2>"$WORK/$style.err"
  rc=$?
  "$VERIFY" --bootstrap "$SPATE_KAFKA" --topic "$t" >"$WORK/$style.verify" 2>&1
  vrc=$?
  if [ $rc -eq 0 ] && [ $vrc -eq 0 ] && grep -q "raw: messages=2000 distinct=2000" "$WORK/$style.verify"; then
    ok "$style pagination: 2000 records, each once, headers and keys right, then stops"
  else
    bad "$style pagination (rc=$rc): $(cat "$WORK/$style.out" "$WORK/$style.verify" | tr '\n' ' ')"
  fi
done
# The broker creates topics on a producer's metadata request with its own
# num.partitions (6 on this stack): ingest must create them first, with the config's 3.
check "raw topic created with the config's partitions (3), not the broker default" \
  grep -q "partitions=3" "$WORK/page.verify"

# Resume: stop after part of the data, then a second run finishes without repeating.
for style in page cursor link; do
  t="$(topic "resume-$style")"
  rm -rf "$WORK/state"
  ingest "$WORK/$style.yaml" --topic-raw "$t" --topic-dlq "$t.dlq" --max-records 600 \
    >"$WORK/r1-$style.out" 2>&1
  rc1=$?
  p1="$(summary_field "$WORK/r1-$style.out" produced)"
  ingest "$WORK/$style.yaml" --topic-raw "$t" --topic-dlq "$t.dlq" >"$WORK/r2-$style.out" 2>&1
  rc2=$?
  "$VERIFY" --bootstrap "$SPATE_KAFKA" --topic "$t" >"$WORK/r-$style.verify" 2>&1
  vrc=$?
  if [ $rc1 -eq 0 ] && [ $rc2 -eq 0 ] && [ $vrc -eq 0 ] && [ "${p1:-0}" -gt 0 ] && [ "$p1" -lt 2000 ] &&
    grep -q "raw: messages=2000 distinct=2000 duplicates=0" "$WORK/r-$style.verify"; then
    ok "$style resume: run 1 stopped at $p1, run 2 resumed, 2000 records each once"
  else
    bad "$style resume: $(cat "$WORK/r1-$style.out" "$WORK/r2-$style.out" "$WORK/r-$style.verify" | tr '\n' ' ')"
  fi
done

# ---- pagination.follow: the source grows after the end of its data ----------------
# Its own fake API (the one above must keep 2000 records). 2000 records fill pages 1-20;
# +150 fills page 21 and half of 22; +30 more lands on page 22, so the follower must
# fetch page 22 again and skip the 50 records it produced before.
GROW_PORT="$(free_port)"
"$PY" "$HERE/fake_api.py" "$GROW_PORT" 2000 >"$WORK/grow.log" 2>&1 &
GROW_PID=$!
pids+=("$GROW_PID")
wait_http "http://127.0.0.1:$GROW_PORT/stats" || bad "growing fake API starts"
write_config "$WORK/follow.yaml" "  - name: ffollow
    url: http://127.0.0.1:$GROW_PORT/page
    batch_size: 100
    concurrency: 4
    pagination:
      style: page
      follow: 200ms"
t="$(topic follow)"
rm -rf "$WORK/state"
# the binary itself in the background (not the ingest function: SIGTERM must reach spate)
"$SPATE_BIN" -c "$WORK/follow.yaml" ingest --metrics-port 0 --topic-raw "$t" --topic-dlq "$t.dlq" \
  >"$WORK/follow.out" 2>"$WORK/follow.err" &
FOLLOW_PID=$!
pids+=("$FOLLOW_PID")
topic_n() { kcat -b "$SPATE_KAFKA" -C -t "$1" -e -q -f '%k\n' 2>/dev/null | wc -l; }
wait_count() { # wait_count TOPIC N -- up to 30 s
  for _ in $(seq 1 60); do [ "$(topic_n "$1")" -ge "$2" ] && return 0; sleep 0.5; done
  return 1
}
wait_count "$t" 2000
curl -fsS "http://127.0.0.1:$GROW_PORT/grow?n=150" >/dev/null
wait_count "$t" 2150
sleep 1
curl -fsS "http://127.0.0.1:$GROW_PORT/grow?n=30" >/dev/null
wait_count "$t" 2180
sleep 1
running=0
kill -0 "$FOLLOW_PID" 2>/dev/null && running=1
kill -TERM "$FOLLOW_PID" 2>/dev/null
wait "$FOLLOW_PID"
frc=$?
"$VERIFY" --bootstrap "$SPATE_KAFKA" --topic "$t" >"$WORK/follow.verify" 2>&1
if [ $running = 1 ] && [ $frc -eq 0 ] &&
  grep -q "raw: messages=2180 distinct=2180 duplicates=0" "$WORK/follow.verify"; then
  ok "follow: still polling at the end of the data, 2000 + 150 + 30 records each once"
else
  bad "follow (running=$running rc=$frc): $(cat "$WORK/follow.out" "$WORK/follow.err" "$WORK/follow.verify" | tr '\n' ' ')"
fi
grep -q "fetched=2180" "$WORK/follow.out" && ok "follow: SIGTERM summary counts 2180 fetched" ||
  bad "follow summary: $(cat "$WORK/follow.out")"
# follow is for page numbers only: a cursor API that ended has no position to resume from
write_config "$WORK/follow-cursor.yaml" "  - name: fc
    url: http://127.0.0.1:$GROW_PORT/cursor
    records_path: data.items
    pagination:
      style: cursor
      cursor_path: next
      follow: 1s"
out="$(ingest "$WORK/follow-cursor.yaml" --topic-raw "$t-c" --topic-dlq "$t-c.dlq" 2>&1)"
rc=$?
if [ $rc -ne 0 ] && echo "$out" | grep -q "pagination.follow needs pagination.style page"; then
  ok "follow with cursor pagination is a clear config error (exit $rc)"
else
  bad "follow with cursor pagination: rc=$rc $out"
fi
stop_pid "$GROW_PID"

# ---- bad payloads go to the DLQ with their reason ------------------------------------
write_config "$WORK/bad.yaml" "  - name: notjson
    url: $F/bad/not_json
    max_retries: 1
    backoff_initial: 10ms
    backoff_max: 20ms
  - name: norec
    url: $F/bad/no_records
    max_retries: 0
  - name: nokey
    url: $F/bad/nokey
  - name: big
    url: $F/bad/big
    max_record_bytes: 1000
  - name: notfound
    url: $F/nothing"
t="$(topic bad)"
ingest "$WORK/bad.yaml" --topic-raw "$t" --topic-dlq "$t.dlq" --max-records 5 --batch 1 --concurrency 1 \
  --dlq-max-bytes 100 >"$WORK/bad.out" 2>"$WORK/bad.err"
rc=$?
"$VERIFY" --bootstrap "$SPATE_KAFKA" --topic "$t" --dlq "$t.dlq" >"$WORK/bad.verify" 2>&1
v="$(cat "$WORK/bad.verify")"
if [ $rc -eq 0 ] && echo "$v" | grep -q "raw: messages=3 distinct=3 duplicates=0" &&
  echo "$v" | grep -q "not_json=2" && echo "$v" | grep -q "no_records_path=1" &&
  echo "$v" | grep -q "record_without_key=2" && echo "$v" | grep -q "record_too_large=1" &&
  echo "$v" | grep -q "http_404=1" && echo "$v" | grep -q "bad_payload_retries_exhausted=2"; then
  ok "bad payloads: every reason in the DLQ, good records of the same responses produced"
else
  bad "bad payloads: $(cat "$WORK/bad.out") $v"
fi
# The DLQ keeps at most --dlq-max-bytes of the raw bytes.
maxlen="$(kcat -b "$SPATE_KAFKA" -C -t "$t.dlq" -e -q -f '%S\n' 2>/dev/null | sort -n | tail -1)"
check "DLQ payloads truncated to the limit (max $maxlen <= 100)" test "${maxlen:-999}" -le 100
# ---- a page that cannot be fetched stops its source there; it is never skipped -------
# (issue 14 item 1) Retries running out (503) and a permanent 4xx both used to complete
# the page, so the saved state moved past it and its records were never fetched.
for code in 503 404; do
  write_config "$WORK/gap$code.yaml" "  - name: gap$code
    url: $F/page
    batch_size: 100
    concurrency: 4
    max_retries: 2
    backoff_initial: 10ms
    backoff_max: 20ms
    pagination:
      style: page"
  t="$(topic "gap$code")"
  rm -rf "$WORK/state"
  curl -fsS "$F/fail?page=3&code=$code" >/dev/null
  ingest "$WORK/gap$code.yaml" --topic-raw "$t" --topic-dlq "$t.dlq" >"$WORK/gap1-$code.out" 2>"$WORK/gap1-$code.err"
  rc1=$?
  st="$(cat "$WORK/state/ingest/gap$code.state" 2>/dev/null | tr '\n' ' ')"
  curl -fsS "$F/fail?page=3&code=0" >/dev/null
  ingest "$WORK/gap$code.yaml" --topic-raw "$t" --topic-dlq "$t.dlq" >"$WORK/gap2-$code.out" 2>&1
  rc2=$?
  "$VERIFY" --bootstrap "$SPATE_KAFKA" --topic "$t" >"$WORK/gap-$code.verify" 2>&1
  vrc=$?
  if [ $rc1 -ne 0 ] && grep -q "gap$code: stopped at page 3" "$WORK/gap1-$code.err" &&
    echo "$st" | grep -q "next_page 3 " && [ $rc2 -eq 0 ] && [ $vrc -eq 0 ] &&
    grep -q "raw: messages=2000 distinct=2000 duplicates=0" "$WORK/gap-$code.verify"; then
    ok "page $code on page 3: exit $rc1, state stays at page 3, the next run gets all 2000 records once"
  else
    bad "page $code on page 3 (rc1=$rc1 rc2=$rc2 state: $st): $(cat "$WORK/gap1-$code.err" "$WORK/gap2-$code.out" "$WORK/gap-$code.verify" | tr '\n' ' ' | tail -c 1500)"
  fi
done

# ---- records larger than Kafka accepts go to the DLQ (issue 14 item 3) ----------------
# message.max.bytes is 1,000,000: a record of 1,010,000 bytes was under the old 1 MiB
# max_record_bytes, failed to produce and froze the source on its page.
curl -fsS "$F/pad?n=150&bytes=1010000" >/dev/null
curl -fsS "$F/pad?n=250&bytes=990000" >/dev/null
write_config "$WORK/kbig.yaml" "  - name: kbig
    url: $F/page
    batch_size: 100
    concurrency: 2
    pagination:
      style: page"
t="$(topic kbig)"
rm -rf "$WORK/state"
ingest "$WORK/kbig.yaml" --topic-raw "$t" --topic-dlq "$t.dlq" >"$WORK/kbig.out" 2>"$WORK/kbig.err"
rc=$?
"$VERIFY" --bootstrap "$SPATE_KAFKA" --topic "$t" --dlq "$t.dlq" >"$WORK/kbig.verify" 2>&1
dlq="$(kcat -b "$SPATE_KAFKA" -C -t "$t.dlq" -e -q -f '%k %S %h\n' 2>/dev/null)"
if [ $rc -eq 0 ] && grep -q "raw: messages=1999 distinct=1999 duplicates=0" "$WORK/kbig.verify" &&
  grep -q "record_too_large=1" "$WORK/kbig.verify" &&
  echo "$dlq" | grep -q "^k-150 65536 .*spate.error=record_too_large.*spate.original_bytes=1010098"; then
  ok "a 1,010,000-byte record goes to the DLQ (key, reason, size kept), a 990,000-byte one is produced"
else
  bad "record above message.max.bytes (rc=$rc): $(cat "$WORK/kbig.err" "$WORK/kbig.verify" | tr '\n' ' ' | tail -c 1500) dlq: $(echo "$dlq" | cut -c1-300)"
fi
write_config "$WORK/kbig2.yaml" "  - name: kbig2
    url: $F/page
    max_record_bytes: 2000000
    pagination:
      style: page"
"$SPATE_BIN" -c "$WORK/kbig2.yaml" ingest --metrics-port 0 --topic-raw "$t-2" --topic-dlq "$t-2.dlq" \
  >"$WORK/kbig2.out" 2>&1
rc=$?
if [ $rc -eq 2 ] && grep -q "max_record_bytes 2000000 is more than Kafka accepts" "$WORK/kbig2.out"; then
  ok "max_record_bytes above message.max.bytes is a config error (exit 2)"
else
  bad "max_record_bytes above Kafka's limit (rc=$rc): $(tr '\n' ' ' <"$WORK/kbig2.out" | tail -c 600)"
fi
curl -fsS "$F/pad?n=150&bytes=0" >/dev/null
curl -fsS "$F/pad?n=250&bytes=0" >/dev/null

# ---- the bound on response bodies in flight (issue 14 item 10) ------------------------
# Page 3 alone exceeds ingest.max_response_bytes_total: it goes to the DLQ naming the page,
# the source stops there and a run after the API shrank it gets every record once.
curl -fsS "$F/pad?n=250&bytes=1200000" >/dev/null
write_config "$WORK/mem.yaml" "  - name: mem
    url: $F/page
    batch_size: 100
    concurrency: 4
    pagination:
      style: page
ingest:
  max_response_bytes_total: 1048576"
t="$(topic mem)"
rm -rf "$WORK/state"
ingest "$WORK/mem.yaml" --topic-raw "$t" --topic-dlq "$t.dlq" >"$WORK/mem1.out" 2>"$WORK/mem1.err"
rc1=$?
dlq="$(kcat -b "$SPATE_KAFKA" -C -t "$t.dlq" -e -q -f '%h\n' 2>/dev/null)"
curl -fsS "$F/pad?n=250&bytes=0" >/dev/null
ingest "$WORK/mem.yaml" --topic-raw "$t" --topic-dlq "$t.dlq" >"$WORK/mem2.out" 2>&1
rc2=$?
"$VERIFY" --bootstrap "$SPATE_KAFKA" --topic "$t" >"$WORK/mem.verify" 2>&1
vrc=$?
if [ $rc1 -ne 0 ] && grep -q "mem: stopped at page 3 (body_too_large)" "$WORK/mem1.err" &&
  echo "$dlq" | grep -q "spate.error=body_too_large.*spate.page=3" && [ $rc2 -eq 0 ] &&
  [ $vrc -eq 0 ] && grep -q "raw: messages=2000 distinct=2000 duplicates=0" "$WORK/mem.verify"; then
  ok "a response above ingest.max_response_bytes_total: DLQ names page 3, exit $rc1, then all 2000 once"
else
  bad "response above the memory bound (rc1=$rc1 rc2=$rc2): $(cat "$WORK/mem1.err" "$WORK/mem.verify" | tr '\n' ' ' | tail -c 1500) dlq: $dlq"
fi
# Two pages of 600 KB each fit alone but not together: the one that meets the bound is
# fetched again alone, nothing goes to the DLQ.
curl -fsS "$F/pad?n=150&bytes=600000" >/dev/null
curl -fsS "$F/pad?n=250&bytes=600000" >/dev/null
curl -fsS "$F/pad?n=350&bytes=600000" >/dev/null
t="$(topic mem2)"
rm -rf "$WORK/state"
ingest "$WORK/mem.yaml" --topic-raw "$t" --topic-dlq "$t.dlq" >"$WORK/mem3.out" 2>"$WORK/mem3.err"
rc=$?
"$VERIFY" --bootstrap "$SPATE_KAFKA" --topic "$t" --dlq "$t.dlq" >"$WORK/mem3.verify" 2>&1
vrc=$?
if [ $rc -eq 0 ] && [ $vrc -eq 0 ] && grep -q "raw: messages=2000 distinct=2000 duplicates=0" "$WORK/mem3.verify" &&
  ! grep -q "body_too_large" "$WORK/mem3.verify"; then
  ok "responses that fit the bound alone are all produced ($(summary_field "$WORK/mem3.out" retries) fetched again alone)"
else
  bad "responses sharing the memory bound (rc=$rc): $(cat "$WORK/mem3.out" "$WORK/mem3.err" "$WORK/mem3.verify" | tr '\n' ' ' | tail -c 1500)"
fi
for n in 150 250 350; do curl -fsS "$F/pad?n=$n&bytes=0" >/dev/null; done

# Credentials from the environment are sent, and never logged.
write_config "$WORK/secret.yaml" "  - name: sec
    url: $F/page
    headers:
      Authorization: Bearer \${INGEST_IT_TOKEN}
    pagination:
      style: page"
t="$(topic secret)"
INGEST_IT_TOKEN=tok-very-secret-123 "$SPATE_BIN" -c "$WORK/secret.yaml" --log-level debug ingest \
  --metrics-port 0 --topic-raw "$t" --topic-dlq "$t.dlq" --max-records 20 --batch 10 \
  >"$WORK/secret.out" 2>"$WORK/secret.err"
rc=$?
if [ $rc -eq 0 ] && ! grep -q "tok-very-secret" "$WORK/secret.err" "$WORK/secret.out" &&
  grep -q "GET" "$WORK/secret.err"; then
  ok "credentials in headers are never logged (debug log checked)"
else
  bad "credentials logged or run failed (rc=$rc)"
fi
stop_pid "$FAKE_PID"

# ---- a source's requests and headers stay on its origin (issue 16) ---------------------
SPATE_BIN="$SPATE_BIN" SPATE_BUILD="$SPATE_BUILD" SPATE_KAFKA="$SPATE_KAFKA" bash "$HERE/origin.sh" >"$WORK/origin.log" 2>&1
sed 's/^/  /' "$WORK/origin.log"
op="$(grep -o '^[0-9]* passed, [0-9]* failed' "$WORK/origin.log" | tail -1)"
if [ -z "$op" ]; then
  bad "origin suite produced no summary"
else
  passed=$((passed + ${op%% passed*}))
  of="${op#*passed, }"
  of="${of%% failed}"
  if [ "$of" -gt 0 ]; then
    failed=$((failed + of))
    failures+=("origin: see lines above")
  fi
fi

# ---- kill -9 mid-stream: pages fetched again keep their fetched_at (issue 15) ----------
SPATE_BIN="$SPATE_BIN" SPATE_KAFKA="$SPATE_KAFKA" bash "$HERE/restart.sh" >"$WORK/restart.log" 2>&1
sed 's/^/  /' "$WORK/restart.log"
op="$(grep -o '^[0-9]* passed, [0-9]* failed' "$WORK/restart.log" | tail -1)"
if [ -z "$op" ]; then
  bad "restart suite produced no summary"
else
  passed=$((passed + ${op%% passed*}))
  of="${op#*passed, }"
  of="${of%% failed}"
  if [ "$of" -gt 0 ]; then
    failed=$((failed + of))
    failures+=("kill -9 restart: see lines above")
  fi
fi

# ---- the big run: api-sim -> Kafka, keys consumed == keys served ---------------------
start_apisim big || bad "api-sim starts"
PAGES=$(( (BIG + 999) / 1000 ))
write_config "$WORK/big.yaml" "  - name: sim
    url: http://127.0.0.1:$APISIM_PORT/api/
    seed: big-$RUN
    batch_size: 1000
    concurrency: 6
    pagination:
      style: page"
t="$(topic big)"
/usr/bin/time -f "cpu_user=%U cpu_sys=%S max_rss_kb=%M wall=%e" \
  "$SPATE_BIN" -c "$WORK/big.yaml" ingest --metrics-port 0 --topic-raw "$t" --topic-dlq "$t.dlq" \
  --max-records "$BIG" >"$WORK/big.out" 2>"$WORK/big.err"
rc=$?
echo "  $(cat "$WORK/big.out")"
echo "  $(tail -1 "$WORK/big.err")"
"$VERIFY" --bootstrap "$SPATE_KAFKA" --topic "$t" --seed "big-$RUN" --pages "$PAGES" --batch 1000 \
  >"$WORK/big.verify" 2>&1
vrc=$?
sed 's/^/  /' "$WORK/big.verify"
check "$BIG records from api-sim: keys consumed == keys served, none twice (rc=$rc)" \
  test $rc -eq 0 -a $vrc -eq 0
stop_pid "$APISIM_PID"

# ---- faults: 5xx, 429 + Retry-After, malformed, truncated, resets, slow, bad records --
FAULTS=(--fail-5xx 10% --fail-429 3% --retry-after 1 --malformed 0.5% --truncated 0.5% --reset 0.5%
  --missing 1% --wrong-type 1% --latency 5ms --jitter 40ms --fault-seed 7)
start_apisim faults "${FAULTS[@]}" || bad "api-sim with faults starts"
write_config "$WORK/faults.yaml" "  - name: simf
    url: http://127.0.0.1:$APISIM_PORT/api/
    seed: faults-$RUN
    batch_size: 200
    concurrency: 8
    timeout: 5s
    max_retries: 12
    backoff_initial: 20ms
    backoff_max: 500ms
    pagination:
      style: page"
t="$(topic faults)"
ingest "$WORK/faults.yaml" --topic-raw "$t" --topic-dlq "$t.dlq" --max-records 100000 \
  >"$WORK/faults.out" 2>"$WORK/faults.err"
rc=$?
echo "  $(cat "$WORK/faults.out")"
stats="$(curl -s "http://127.0.0.1:$APISIM_PORT/stats")"
echo "  api-sim: $stats"
"$VERIFY" --bootstrap "$SPATE_KAFKA" --topic "$t" --dlq "$t.dlq" --seed "faults-$RUN" --pages 500 \
  --batch 200 --missing 0.01 --wrong-type 0.01 --fault-seed 7 >"$WORK/faults.verify" 2>&1
vrc=$?
sed 's/^/  /' "$WORK/faults.verify"
check "faults: every good record once, bad records in the DLQ as record_without_key" \
  test $rc -eq 0 -a $vrc -eq 0
# Every malformed or truncated body is in the DLQ as not_json.
served_bad=$(echo "$stats" | "$PY" -c 'import json,sys; f=json.load(sys.stdin)["faults"]; print(f["malformed"]+f["truncated"])')
dlq_bad=$(grep -o "not_json=[0-9]*" "$WORK/faults.verify" | cut -d= -f2)
check "faults: each of the $served_bad malformed/truncated bodies is in the DLQ (${dlq_bad:-0})" \
  test "${dlq_bad:-0}" -eq "$served_bad"
retries="$(summary_field "$WORK/faults.out" retries)"
served_err=$(echo "$stats" | "$PY" -c 'import json,sys; f=json.load(sys.stdin)["faults"]; print(f["5xx"]+f["429"]+f["malformed"]+f["truncated"]+f["reset"])')
check "faults: one retry per failed answer ($retries retries, $served_err faults served)" \
  test "${retries:-0}" -eq "$served_err"
stop_pid "$APISIM_PID"

# ---- SIGTERM mid-run: the summary matches the topic; a restart completes exactly -----
start_apisim term --latency 20ms || bad "api-sim for SIGTERM starts"
write_config "$WORK/term.yaml" "  - name: simt
    url: http://127.0.0.1:$APISIM_PORT/api/
    seed: term-$RUN
    batch_size: 500
    concurrency: 4
    pagination:
      style: page"
t="$(topic term)"
MPORT="$(free_port)"
"$SPATE_BIN" -c "$WORK/term.yaml" ingest --metrics-port "$MPORT" --topic-raw "$t" --topic-dlq "$t.dlq" \
  --max-records 200000 >"$WORK/term1.out" 2>"$WORK/term1.err" &
IPID=$!
pids+=("$IPID")
wait_http "http://127.0.0.1:$MPORT/metrics"
sleep 2
curl -s "http://127.0.0.1:$MPORT/metrics" >"$WORK/metrics.txt"
kill -TERM "$IPID"
wait "$IPID"
rc=$?
if grep -q '^spate_ingest_requests_total{source="simt",code="200"} [1-9]' "$WORK/metrics.txt" &&
  grep -q '^spate_ingest_records_produced_total{source="simt"} [1-9]' "$WORK/metrics.txt" &&
  grep -q '^spate_ingest_http_latency_seconds_bucket{source="simt",le="+Inf"}' "$WORK/metrics.txt" &&
  grep -q '^spate_ingest_produce_latency_seconds_quantile{quantile="0.99"}' "$WORK/metrics.txt" &&
  grep -q '^spate_ingest_producer_queue_depth ' "$WORK/metrics.txt"; then
  ok "metrics endpoint: requests by status, records, latency histograms, queue depth"
else
  bad "metrics endpoint content: $(head -c 600 "$WORK/metrics.txt")"
fi
p1="$(summary_field "$WORK/term1.out" produced)"
"$VERIFY" --bootstrap "$SPATE_KAFKA" --topic "$t" >"$WORK/term1.verify" 2>&1
n1="$(grep -o 'raw: messages=[0-9]*' "$WORK/term1.verify" | cut -d= -f2)"
check "SIGTERM: exit 0 and the summary ($p1 produced) matches the topic (${n1:-?})" \
  test $rc -eq 0 -a "${p1:-x}" = "${n1:-y}"
ingest "$WORK/term.yaml" --topic-raw "$t" --topic-dlq "$t.dlq" --max-records $((200000 - ${p1:-0})) \
  >"$WORK/term2.out" 2>"$WORK/term2.err"
rc=$?
"$VERIFY" --bootstrap "$SPATE_KAFKA" --topic "$t" --seed "term-$RUN" --pages 400 --batch 500 \
  >"$WORK/term2.verify" 2>&1
vrc=$?
sed 's/^/  /' "$WORK/term2.verify"
check "SIGTERM then restart: resumes where it stopped, 200000 records each once" \
  test $rc -eq 0 -a $vrc -eq 0
stop_pid "$APISIM_PID"

# ---- broker stopped for 20 s mid-run (its own private broker) ------------------------
if [ "${INGEST_IT_SKIP_OUTAGE:-0}" != 1 ]; then
  SPATE_BIN="$SPATE_BIN" SPATE_BUILD="$SPATE_BUILD" bash "$HERE/outage.sh" >"$WORK/outage.log" 2>&1
  sed 's/^/  /' "$WORK/outage.log"
  op="$(grep -o '^[0-9]* passed, [0-9]* failed' "$WORK/outage.log" | tail -1)"
  passed=$((passed + ${op%% passed*}))
  of="${op#*passed, }"
  of="${of%% failed}"
  if [ -z "$op" ]; then
    bad "outage suite produced no summary"
  elif [ "$of" -gt 0 ]; then
    failed=$((failed + of))
    failures+=("broker outage: see lines above")
  fi
fi

echo
if [ ${#failures[@]} -gt 0 ]; then
  echo "failures:"
  printf '  %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
