#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# run.sh -- integration suite of the Spark job (see test_spark_job.py).
set -uo pipefail
ROOT="${SPATE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}"
PY="${SPATE_PY:-$ROOT/.venv/bin/python}"
exec "$PY" "$ROOT/tests/integration/spark/test_spark_job.py"
