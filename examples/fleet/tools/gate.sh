#!/usr/bin/env bash
# The fleet gate between two batches of a rolling deploy: every host already switched must still be
# healthy, by itself (GET /health answers 200 within a second) and in HAProxy's own view (its checks
# have it running and it is ready), for SECONDS in a row. A host that fails after its batch (hung,
# crashed, failing its checks) stops the rollout before the next batch is touched.
#   gate.sh SOCKET BACKEND SECONDS NAME=ADDR:PORT...
set -euo pipefail
cd "$(dirname "$0")/.."
sock=${1:?usage: gate.sh SOCKET BACKEND SECONDS NAME=ADDR:PORT...}
backend=${2:?backend missing}
seconds=${3:?seconds missing}
shift 3
[ "$#" -gt 0 ] || { echo "gate: no host switched yet, nothing to check"; exit 0; }

health() { # addr, port: GET /health answers 200 within a second
  local status=
  { exec 3<>"/dev/tcp/$1/$2"; } 2>/dev/null || return 1
  printf 'GET /health HTTP/1.0\r\nHost: %s\r\n\r\n' "$1" >&3
  read -r -t 1 _ status _ <&3 || true
  exec 3<&- 3>&-
  [ "$status" = 200 ]
}

end=$((SECONDS + seconds))
rounds=0
while :; do
  rounds=$((rounds + 1))
  for h in "$@"; do
    name=${h%%=*} target=${h#*=}
    health "${target%:*}" "${target##*:}" || { echo "gate: $name failed after its batch: /health on $target did not answer 200 within 1 s; the rollout stops" >&2; exit 1; }
    state=$(tools/haproxy.sh "$sock" "show servers state $backend" | awk -v sv="$name" '$4 == sv { print $6, $7 }')
    [ "$state" = "2 0" ] || { echo "gate: $name failed after its batch: HAProxy has it not running and ready (srv_op_state srv_admin_state: '${state:-absent}'); the rollout stops" >&2; exit 1; }
  done
  [ $SECONDS -lt $end ] || break
  sleep 0.2
done
echo "gate: $* healthy in HAProxy and on /health for ${seconds} s ($rounds rounds)"
