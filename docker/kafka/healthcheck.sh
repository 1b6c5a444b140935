#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Healthy when the broker answers an ApiVersions request (v0) with error 0 on
# the internal listener: the socket server only answers once startup is done.
set -euo pipefail
exec 3<>/dev/tcp/127.0.0.1/9092
# size 12 | api_key 18 | version 0 | correlation_id 7 | client_id "hc"
printf '\x00\x00\x00\x0c\x00\x12\x00\x00\x00\x00\x00\x07\x00\x02hc' >&3
# response: size(4) correlation_id(4) error_code(2)
reply=$(timeout 4 head -c 10 <&3 | od -An -tx1 | tr -d ' \n')
[ "${reply:8:12}" = "000000070000" ]
