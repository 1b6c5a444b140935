#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# origin.sh -- a source's requests stay on its origin: a Link rel="next" or a redirect to
# another host is refused unless the source lists it in allow_hosts, and the source's
# headers (Authorization, API keys) never reach another origin. Two fake APIs: the
# source on 127.0.0.1, "another host" on 127.0.0.2 (a different origin on loopback).
#
# Environment: SPATE_BIN, SPATE_KAFKA, SPATE_BUILD (it_ingest_verify). Called by run.sh;
# runs alone too. Prints "N passed, N failed".
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SPATE_BIN="${SPATE_BIN:-$HERE/../../../build/spate}"
SPATE_KAFKA="${SPATE_KAFKA:-127.0.0.1:9092}"
SPATE_BUILD="${SPATE_BUILD:-$(dirname "$SPATE_BIN")}"
VERIFY="$SPATE_BUILD/it_ingest_verify"
RUN="$(date +%s)-$$"
WORK="$(mktemp -d /tmp/spate-it-origin.XXXXXX)"
PY="${SPATE_PY:-python3}"
command -v "$PY" >/dev/null 2>&1 || PY=python3
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
start_fake() { # start_fake HOST VAR: starts it here (not in a subshell, so cleanup knows its pid)
  local port
  port="$(free_port)"
  "$PY" "$HERE/fake_api.py" "$port" 300 "$1" >"$WORK/fake-$1.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "http://$1:$port/stats" 2>/dev/null && break
    sleep 0.1
  done
  printf -v "$2" '%s' "$port"
}
seen() { # seen BASE -> "DATA_REQUESTS AUTH_HEADERS" (this script's own /stats and /seen calls left out)
  curl -fsS "$1/seen" | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(d["data_requests"], len(d["auth"]))'
}
write_config() { # write_config FILE NAME URL STYLE [ALLOW]
  cat >"$1" <<EOF
log_level: warn
kafka:
  bootstrap_servers: $SPATE_KAFKA
  partitions: 1
sources:
  - name: $2
    url: $3
    batch_size: 100
    concurrency: 1
    max_retries: 1
    backoff_initial: 10ms
    headers:
      Authorization: Bearer tok-origin-secret
      X-Api-Key: key-origin-secret
    pagination:
      style: $4
${5:-}
stack:
  data_dir: $WORK/state
EOF
}
ingest() { "$SPATE_BIN" -c "$1" ingest --metrics-port 0 "${@:2}"; }
topic() { echo "it-origin-$RUN-$1"; }

start_fake 127.0.0.1 P1
start_fake 127.0.0.2 P2
SRC="http://127.0.0.1:$P1"
OTHER="http://127.0.0.2:$P2"

# 1. A Link rel="next" to another host: refused, nothing sent there, exit 1 naming the host;
#    the first page's records are produced and the saved state stays at the refused link.
write_config "$WORK/link.yaml" link "$SRC/link?next_base=$OTHER" link
t="$(topic link)"
ingest "$WORK/link.yaml" --topic-raw "$t" --topic-dlq "$t.dlq" >"$WORK/link.out" 2>"$WORK/link.err"
rc=$?
read -r n2 a2 <<<"$(seen "$OTHER")"
"$VERIFY" --bootstrap "$SPATE_KAFKA" --topic "$t" >"$WORK/link.verify" 2>&1
if [ $rc -eq 1 ] && [ "$n2" = 0 ] && grep -q "leads to host 127.0.0.2, outside the source's origin" "$WORK/link.err" &&
  grep -q "allow_hosts" "$WORK/link.err" && grep -q "raw: messages=100 " "$WORK/link.verify"; then
  ok "Link rel=next to another host: refused (exit 1, names the host), 0 requests there, page 1 kept"
else
  bad "Link to another host: rc=$rc requests there=$n2 $(cat "$WORK/link.err" "$WORK/link.verify" | tr '\n' ' ' | tail -c 800)"
fi

# 2. The same host listed in allow_hosts: followed to the end, without the source's headers.
write_config "$WORK/allow.yaml" allow "$SRC/link?next_base=$OTHER" link "    allow_hosts: [127.0.0.2]"
t="$(topic allow)"
ingest "$WORK/allow.yaml" --topic-raw "$t" --topic-dlq "$t.dlq" --reset >"$WORK/allow.out" 2>"$WORK/allow.err"
rc=$?
read -r n2b a2b <<<"$(seen "$OTHER")"
read -r n1 a1 <<<"$(seen "$SRC")"
"$VERIFY" --bootstrap "$SPATE_KAFKA" --topic "$t" >"$WORK/allow.verify" 2>&1
if [ $rc -eq 0 ] && [ "$n2b" -ge 2 ] && [ "$a2b" = 0 ] && [ "$a1" -ge 2 ] &&
  grep -q "raw: messages=300 distinct=300 duplicates=0" "$WORK/allow.verify"; then
  ok "allow_hosts: the other host's pages fetched (300 records once), with no Authorization or API key ($n2b requests, $a2b credentials)"
else
  bad "allow_hosts: rc=$rc other: $n2b requests $a2b credentials, source: $a1 credentials $(cat "$WORK/allow.err" "$WORK/allow.verify" | tr '\n' ' ' | tail -c 800)"
fi

# 3. A redirect to another host: refused, the 302 goes to the DLQ, nothing sent there.
before="$(seen "$OTHER" | cut -d' ' -f1)"
write_config "$WORK/redir.yaml" redir "$SRC/redirect?to=$OTHER/page%3Fresults%3D100" none
t="$(topic redir)"
ingest "$WORK/redir.yaml" --topic-raw "$t" --topic-dlq "$t.dlq" --max-records 100 >"$WORK/redir.out" 2>"$WORK/redir.err"
rc=$?
after="$(seen "$OTHER" | cut -d' ' -f1)"
kcat -C -b "$SPATE_KAFKA" -t "$t.dlq" -e -f '%h\n' >"$WORK/redir.dlq" 2>/dev/null
if [ "$before" = "$after" ] && grep -q "redirects to host 127.0.0.2, outside the source's origin" "$WORK/redir.err" &&
  grep -q "spate.error=redirect_outside_origin" "$WORK/redir.dlq"; then
  ok "a redirect to another host: refused, 0 requests there, the 302 in the DLQ (redirect_outside_origin)"
else
  bad "redirect to another host: rc=$rc requests there $before -> $after $(cat "$WORK/redir.err" "$WORK/redir.dlq" | tr '\n' ' ' | tail -c 800)"
fi

# 4. A redirect within the origin is followed, with the headers.
write_config "$WORK/same.yaml" same "$SRC/redirect?to=/page%3Fresults%3D100" none
t="$(topic same)"
ingest "$WORK/same.yaml" --topic-raw "$t" --topic-dlq "$t.dlq" --max-records 100 >"$WORK/same.out" 2>"$WORK/same.err"
rc=$?
"$VERIFY" --bootstrap "$SPATE_KAFKA" --topic "$t" >"$WORK/same.verify" 2>&1
if [ $rc -eq 0 ] && grep -q "raw: messages=100 " "$WORK/same.verify"; then
  ok "a redirect within the source's origin is followed (100 records)"
else
  bad "same-origin redirect: rc=$rc $(cat "$WORK/same.err" "$WORK/same.verify" | tr '\n' ' ' | tail -c 800)"
fi

# 5. A source name with a quote and a backslash stays one label value in /metrics: raw, it
#    ended the value early and broke the exposition.
MP="$(free_port)"
write_config "$WORK/label.yaml" "'we\"ird\\name'" "$SRC/page" none
sed -i 's/^    pagination:/    mode: interval\n    interval: 200ms\n    pagination:/' "$WORK/label.yaml"
t="$(topic label)"
"$SPATE_BIN" -c "$WORK/label.yaml" ingest --metrics-port "$MP" --for 4s --topic-raw "$t" --topic-dlq "$t.dlq" \
  >"$WORK/label.out" 2>"$WORK/label.err" &
LPID=$!
pids+=("$LPID")
sleep 2
curl -fsS "http://127.0.0.1:$MP/metrics" >"$WORK/label.metrics" 2>/dev/null
wait "$LPID" 2>/dev/null
if grep -qF 'spate_ingest_records_fetched_total{source="we\"ird\\name"} ' "$WORK/label.metrics" &&
  grep -qF 'spate_ingest_requests_total{source="we\"ird\\name",code="200"} ' "$WORK/label.metrics"; then
  ok "a source name with a quote and a backslash is escaped in metric labels"
else
  bad "label escaping: $(grep -F 'ird' "$WORK/label.metrics" | head -3 | tr '\n' ' ') $(tail -c 300 "$WORK/label.err")"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
