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

health() { # the body of GET /health when it answers 200 within a second
  local status= line body=
  { exec 3<>"/dev/tcp/${target%:*}/${target##*:}"; } 2>/dev/null || return 1
  printf 'GET /health HTTP/1.0\r\nHost: %s\r\n\r\n' "${target%:*}" >&3
  read -r -t 1 _ status _ <&3 || true
  while read -r -t 1 line <&3; do body=$line; done
  exec 3<&- 3>&-
  [ "$status" = 200 ] && printf '%s' "$body"
}

serves=
for _ in 1 2 3; do
  body=$(health) && serves=$(sed -n 's/.*"version":"\([^"]*\)".*/\1/p' <<< "$body") && [ -n "$serves" ] && break
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
