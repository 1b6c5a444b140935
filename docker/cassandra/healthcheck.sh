#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Healthy when the native port answers a CQL v4 OPTIONS frame with SUPPORTED:
# Cassandra opens it only after the node has fully started.
set -euo pipefail
exec 3<>/dev/tcp/127.0.0.1/9042
# version 4 | flags 0 | stream 1 | opcode OPTIONS (5) | body length 0
printf '\x04\x00\x00\x01\x05\x00\x00\x00\x00' >&3
reply=$(timeout 4 head -c 5 <&3 | od -An -tx1 | tr -d ' \n')
[ "$reply" = "8400000106" ]
