#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# run.sh -- benchmark `spate ingest` (api-sim -> Kafka) against Kafka's own
# ProducerPerformance and against the seed-style Python peer, in one run, same broker.
#
#   1. spate ingest: RECORDS users from api-sim (about 1 KB each) into a fresh topic,
#      acks=all, lz4, idempotent. Records/s, CPU seconds and peak RSS per million.
#   2. org.apache.kafka.tools.ProducerPerformance: the same number of records of the same
#      bytes (a payload file of api-sim users), acks=all, lz4, idempotent, same broker.
#   3. bench/peers/seed_ingest.py: one request per user, produce + flush per user, for
#      SEED_SECONDS.
# Prints the figures and the ratios; appends them to bench/ingest/results.txt.
#
# Environment: SPATE_BIN (default build/spate), SPATE_KAFKA (default 127.0.0.1:9092),
# KAFKA_LIB (default deps/lib/kafka), RECORDS (default 1000000), SEED_SECONDS (default 20),
# PARTITIONS (default 6), BENCH_PY (a python with requests and confluent-kafka; by default
# a venv made under the build dir with pip), LATENCY (e.g. 50ms: api-sim adds it to every
# answer, for spate and the seed peer alike, as a stand-in for the internet round trip the
# seed paid to randomuser.me; default none: loopback), CONCURRENCY (spate's requests in
# flight, default 8).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SPATE_BIN="${SPATE_BIN:-$ROOT/build/spate}"
SPATE_KAFKA="${SPATE_KAFKA:-127.0.0.1:9092}"
KAFKA_LIB="${KAFKA_LIB:-$ROOT/deps/lib/kafka}"
RECORDS="${RECORDS:-1000000}"
LATENCY="${LATENCY:-}"
CONCURRENCY="${CONCURRENCY:-8}"
SEED_SECONDS="${SEED_SECONDS:-20}"
PARTITIONS="${PARTITIONS:-6}"
RUN="$(date +%s)-$$"
WORK="$(mktemp -d /tmp/spate-bench-ingest.XXXXXX)"
APISIM_PID=""

cleanup() {
  [ -n "$APISIM_PID" ] && kill "$APISIM_PID" 2>/dev/null && wait "$APISIM_PID" 2>/dev/null
  SPATE_KAFKA="$SPATE_KAFKA" KAFKA_LIB="$KAFKA_LIB" "$ROOT/bench/drop-topics" "bench-ingest-$RUN-.*"
  rm -rf "$WORK"
}
trap cleanup EXIT

if [ -z "${BENCH_PY:-}" ]; then
  venv="$(dirname "$SPATE_BIN")/bench-venv"
  if ! "$venv/bin/python" -c 'import requests, confluent_kafka' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q requests confluent-kafka
  fi
  BENCH_PY="$venv/bin/python"
fi

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$SPATE_BIN" api-sim --port "$port" --threads 2 ${LATENCY:+--latency "$LATENCY"} \
  >"$WORK/apisim.log" 2>&1 &
APISIM_PID=$!
for _ in $(seq 1 100); do
  curl -fsS -o /dev/null "http://127.0.0.1:$port/health" 2>/dev/null && break
  sleep 0.1
done

cat >"$WORK/bench.yaml" <<EOF
log_level: warn
kafka:
  bootstrap_servers: $SPATE_KAFKA
  partitions: $PARTITIONS
  compression: lz4
sources:
  - name: bench
    url: http://127.0.0.1:$port/api/
    seed: bench-$RUN
    batch_size: 1000
    concurrency: $CONCURRENCY
    pagination:
      style: page
stack:
  data_dir: $WORK/state
EOF

t_spate="bench-ingest-$RUN-spate"
t_pp="bench-ingest-$RUN-pp"
t_seed="bench-ingest-$RUN-seed"

echo "== spate ingest: $RECORDS records"
/usr/bin/time -f "%U %S %M %e" -o "$WORK/spate.time" \
  "$SPATE_BIN" -c "$WORK/bench.yaml" ingest --metrics-port 0 --topic-raw "$t_spate" \
  --topic-dlq "$t_spate.dlq" --max-records "$RECORDS" >"$WORK/spate.out"
cat "$WORK/spate.out"
read -r s_user s_sys s_rss s_wall <"$WORK/spate.time"
s_rate="$(grep -o 'rate=[0-9]*' "$WORK/spate.out" | cut -d= -f2)"

echo "== ProducerPerformance: $RECORDS records of api-sim users"
# A payload file of real users, one per line, so the compression ratio matches.
curl -fsS "http://127.0.0.1:$port/api/?results=5000&seed=payload-$RUN" |
  python3 -c 'import json,sys; [print(json.dumps(u, ensure_ascii=False, separators=(",",":"))) for u in json.load(sys.stdin)["results"]]' \
    >"$WORK/payload.txt"
avg="$(awk '{n++; b+=length($0)} END {printf "%d", b/n}' "$WORK/payload.txt")"
echo "payload file: $(wc -l <"$WORK/payload.txt") users, $avg bytes on average"
java -cp "$KAFKA_LIB/*" org.apache.kafka.tools.TopicCommand --bootstrap-server "$SPATE_KAFKA" \
  --create --topic "$t_pp" --partitions "$PARTITIONS" --replication-factor 1 >/dev/null
/usr/bin/time -f "%U %S %M %e" -o "$WORK/pp.time" \
  java -cp "$KAFKA_LIB/*" org.apache.kafka.tools.ProducerPerformance --topic "$t_pp" \
  --num-records "$RECORDS" --payload-file "$WORK/payload.txt" --throughput -1 \
  --producer-props bootstrap.servers="$SPATE_KAFKA" acks=all compression.type=lz4 \
  enable.idempotence=true linger.ms=5 batch.size=1000000 >"$WORK/pp.out" 2>&1
tail -1 "$WORK/pp.out"
pp_rate="$(tail -1 "$WORK/pp.out" | sed -n 's/.* records sent, \([0-9.]*\) records\/sec.*/\1/p')"
read -r p_user p_sys p_rss p_wall <"$WORK/pp.time"

echo "== seed-style peer: ${SEED_SECONDS}s"
"$BENCH_PY" "$ROOT/bench/peers/seed_ingest.py" --url "http://127.0.0.1:$port/api/" \
  --bootstrap "$SPATE_KAFKA" --topic "$t_seed" --seconds "$SEED_SECONDS" | tee "$WORK/seed.out"
seed_rate="$(grep -o 'rate=[0-9.]*' "$WORK/seed.out" | cut -d= -f2)"

python3 - "${LATENCY:-none}" "$RECORDS" "$s_rate" "$s_user" "$s_sys" "$s_rss" "$s_wall" "$pp_rate" "$p_user" \
  "$p_sys" "$p_rss" "$seed_rate" <<'EOF' | tee -a "$ROOT/bench/ingest/results.txt"
import sys, time
lat, n, s_rate, su, ss, srss, swall, pp, pu, ps, prss, seed = sys.argv[1:]
n = int(n); s_rate = float(s_rate); pp = float(pp); seed = float(seed)
cpu = (float(su) + float(ss)) / (n / 1e6)
pcpu = (float(pu) + float(ps)) / (n / 1e6)
print("%s ingest bench, %d records (~1 KB, acks=all, lz4, idempotent), api latency %s" %
      (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), n, lat))
print("  spate ingest        %10.0f records/s  cpu %.1f s/M  peak rss %.1f MB  wall %.1f s"
      % (s_rate, cpu, int(srss) / 1024, float(swall)))
print("  ProducerPerformance %10.0f records/s  cpu %.1f s/M  peak rss %.1f MB"
      % (pp, pcpu, int(prss) / 1024))
print("  seed peer           %10.1f records/s" % seed)
print("  ratio spate/ProducerPerformance %.2fx (goal >= 0.8x)" % (s_rate / pp))
print("  ratio spate/seed                %.0fx (goal >= 1000x)" % (s_rate / seed if seed else 0))
# The ceiling of that ratio on this machine: Kafka's own producer, which makes no
# HTTP request at all, against the same seed loop.
print("  ratio ProducerPerformance/seed  %.0fx (no HTTP: the ceiling for the line above)"
      % (pp / seed if seed else 0))
EOF
