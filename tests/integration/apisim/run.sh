#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# apisim/run.sh -- the api-sim binary end to end over real HTTP (no stack needed).
set -uo pipefail
cd "$SPATE_ROOT"
if python3 tests/integration/apisim/test_apisim.py "$SPATE_BIN"; then
  echo "apisim: 1 passed, 0 failed"
else
  echo "apisim: 0 passed, 1 failed"
  exit 1
fi
