#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# healthcheck.sh master|worker|job -- asks the master's JSON status page:
#   master  the master is ALIVE
#   worker  the master lists this container's worker as ALIVE
#   job     the master lists a RUNNING application named spate
set -euo pipefail
role=${1:-job}
ui=${SPARK_MASTER_WEBUI:-http://spark-master:8080}
[ "$role" = master ] && ui=http://127.0.0.1:8080
exec /usr/bin/python3 - "$role" "$ui" "$(hostname -i | awk '{print $1}')" <<'PY'
import json, sys, urllib.request
role, ui, ip = sys.argv[1:4]
st = json.load(urllib.request.urlopen(ui.rstrip("/") + "/json/", timeout=4))
if role == "master":
    ok = st.get("status") == "ALIVE"
elif role == "worker":
    ok = any(w.get("host") == ip and w.get("state") == "ALIVE" for w in st.get("workers", []))
else:
    ok = any(a.get("name") == "spate" and a.get("state") == "RUNNING"
             for a in st.get("activeapps", []))
sys.exit(0 if ok else 1)
PY
