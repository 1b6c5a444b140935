#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/spark/run.sh -- the `clean` query's latency (1k and 10k rec/s, real-time vs
# micro-batch, one run) and its maximum sustained rate; see bench/spark/README.md.
# Extra arguments go to bench.py (e.g. --rates 1000 --duration 120 --skip-throughput).
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
exec "$ROOT/.venv/bin/python" "$ROOT/bench/spark/bench.py" "$@"
