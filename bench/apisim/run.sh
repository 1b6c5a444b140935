#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/apisim/run.sh -- users/s served by `spate api-sim` on one core, measured with wrk.
#
# The server is pinned to one CPU and runs one worker thread; wrk runs on the other CPU.
# Besides the wall-clock rate, the script reads the server's CPU time from /proc and
# its user count from /stats, so "users per CPU-second" stays meaningful on a machine
# that is busy with other work.
#
# usage: bench/apisim/run.sh [SPATE_BINARY]   (env: PORT, DURATION, CONNS, SIZES)
set -euo pipefail
SPATE=${1:-${SPATE:-build/spate}}
PORT=${PORT:-18089}
DURATION=${DURATION:-5}
CONNS=${CONNS:-8}
SIZES=${SIZES:-"1 10 100 1000 5000"}
command -v wrk >/dev/null || { echo "wrk not found (apt-get install wrk)" >&2; exit 2; }
[ -x "$SPATE" ] || { echo "no spate binary at $SPATE" >&2; exit 2; }
ncpu=$(nproc)
srv_cpu=0
cli_cpu=$(( ncpu > 1 ? 1 : 0 ))

log=$(mktemp)
taskset -c "$srv_cpu" "$SPATE" api-sim --port "$PORT" --threads 1 >"$log" 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 50); do
  curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break
  sleep 0.1
done

cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
users() { curl -sf "http://127.0.0.1:$PORT/stats" | sed 's/.*"users_served":\([0-9]*\).*/\1/'; }
hz=$(getconf CLK_TCK)

printf '%-8s %12s %12s %14s %16s\n' results req/s MB/s users/s users/cpu-s
for n in $SIZES; do
  url="http://127.0.0.1:$PORT/api/?results=$n&seed=bench&page=1"
  c0=$(cpu_ticks); u0=$(users)
  out=$(taskset -c "$cli_cpu" wrk -t1 -c"$CONNS" -d"${DURATION}s" "$url")
  c1=$(cpu_ticks); u1=$(users)
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  mbs=$(awk '/Transfer\/sec/ {v=$2; if (v ~ /GB/) v*=1024; else if (v ~ /KB/) v/=1024; sub(/[A-Za-z]+/,"",v); print v+0}' <<<"$out")
  cpu=$(awk -v a="$c0" -v b="$c1" -v hz="$hz" 'BEGIN {print (b - a) / hz}')
  du=$((u1 - u0))
  printf '%-8s %12.0f %12.1f %14.0f %16.0f\n' "$n" "$rps" "$mbs" "$(awk -v r="$rps" -v n="$n" 'BEGIN{print r*n}')" \
    "$(awk -v u="$du" -v c="$cpu" 'BEGIN{print (c > 0 ? u / c : 0)}')"
done

# Generation alone, no HTTP: the ceiling the server can approach.
bdir=$(dirname "$SPATE")
if [ -f "$bdir/libspate_apisim.a" ] && command -v cc >/dev/null; then
  here=$(cd "$(dirname "$0")" && pwd)
  root=$(cd "$here/../.." && pwd)
  tmpbin=$(mktemp)
  cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -I"$root/include" "$here/render_bench.c" \
    "$bdir/libspate_apisim.a" "$bdir/libspate_core.a" $(pkg-config --libs openssl) -o "$tmpbin"
  for n in 1 100 1000; do taskset -c "$srv_cpu" "$tmpbin" "$n" 2; done
  rm -f "$tmpbin"
fi
