#!/usr/bin/env bash
# The last word of a rollback on one host, from the control machine alone (no SSH): the host takes
# traffic again when what it runs answers its health check with the version rolled back to.
#   takeback.sh SOCKET BACKEND NAME ADDR:PORT VERSION [WHY]
# WHY (e.g. "unreachable over SSH") says the rollback could not reach the host: whatever happens
# here, a line "release-pilot: needs-attention NAME: WHY; …" tells the release a person is needed.
# A host that does not serve VERSION stays out of traffic, and says so in the same line.
set -euo pipefail
cd "$(dirname "$0")/.."
sock=${1:?usage: takeback.sh SOCKET BACKEND NAME ADDR:PORT VERSION [WHY]}
backend=${2:?backend missing}
name=${3:?host name missing}
target=${4:?ADDR:PORT missing}
version=${5:?version missing}
why=${6:-}

health() { # the answer of GET /health (status line, headers, body), read within 2 s
  { exec 3<>"/dev/tcp/${target%:*}/${target##*:}"; } 2>/dev/null || return 1
  printf 'GET /health HTTP/1.0\r\nHost: %s\r\n\r\n' "${target%:*}" >&3
  timeout 2 cat <&3 || true
  exec 3<&- 3>&-
}

serves=
for _ in 1 2 3; do
  answer=$(health) || answer=
  # 200 and the version it runs: {"status":"ok","version":"1.0.0",…}
  if [[ "$answer" =~ ^HTTP/[0-9.]+\ 200 ]] && [[ "$answer" =~ \"version\":\"([^\"]+)\" ]]; then
    serves=${BASH_REMATCH[1]}
    break
  fi
  sleep 0.3
done
attention() { echo "release-pilot: needs-attention $name: $*"; }
if [ "$serves" != "$version" ]; then
  state=${serves:+serves $serves, not $version}
  attention "${why:+$why; }$name ${state:-does not answer its health check on $target}; left out of traffic"
  exit 0
fi
tools/haproxy.sh "$sock" ready "$backend/$name" > /dev/null
if [ -n "$why" ]; then
  attention "$why; $name serves $version and takes traffic again"
else
  echo "$name serves $version and takes traffic"
fi
