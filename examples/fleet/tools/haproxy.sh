#!/usr/bin/env bash
# One command to HAProxy's runtime API (the admin stats socket), failing loudly when HAProxy does
# not accept it: socat exits 0 even when HAProxy answers "No such server.", so the answer is read.
#   haproxy.sh SOCKET 'set server orders/h1 state drain'   (set/enable/disable: any answer is an error)
#   haproxy.sh SOCKET 'show stat'                          (show: prints the answer)
#   haproxy.sh SOCKET sessions orders/h1                   (prints the server's current sessions)
#   haproxy.sh SOCKET status orders/h1                     (prints the server's status: UP, DOWN, DRAIN, MAINT…)
set -euo pipefail
sock=${1:?usage: haproxy.sh SOCKET COMMAND}
shift
[ -S "$sock" ] || { echo "haproxy.sh: no HAProxy socket at $sock" >&2; exit 1; }
send() { echo "$1" | socat -t 2 stdio "unix-connect:$sock"; }

stat_field() { # proxy/server, field name
  local px=${1%/*} sv=${1#*/} out
  out=$(send 'show stat -1 4 -1' | awk -F, -v px="$px" -v sv="$sv" -v f="$2" '
    NR == 1 { sub(/^# /, ""); for (i = 1; i <= NF; i++) col[$i] = i; next }
    $1 == px && $2 == sv { print $col[f]; found = 1 }
    END { exit found ? 0 : 1 }') || { echo "haproxy.sh: no server $1 in HAProxy" >&2; exit 1; }
  echo "$out"
}

case "$1" in
  sessions) stat_field "${2:?server missing}" scur ;;
  status) stat_field "${2:?server missing}" status ;;
  show*) send "$*" ;;
  *)
    answer=$(send "$*")
    # A set command HAProxy accepted answers nothing (or a blank line).
    if [ -n "$(echo "$answer" | tr -d '[:space:]')" ]; then
      echo "haproxy.sh: HAProxy refused '$*': $answer" >&2
      exit 1
    fi
    echo "haproxy: $*"
    ;;
esac
