#!/usr/bin/env bash
# HAProxy's runtime API (the admin stats socket) for the fleet's playbooks and tools, failing
# loudly when HAProxy does not accept a command: socat exits 0 even when HAProxy answers
# "No such server.", so every answer is read.
#   haproxy.sh SOCKET drain BACKEND/SERVER [SECONDS]  no new requests; waits until it has no session (default 30 s)
#   haproxy.sh SOCKET ready BACKEND/SERVER [SECONDS]  back in traffic; waits until its checks say UP (default 20 s)
#   haproxy.sh SOCKET sessions BACKEND/SERVER         its current sessions
#   haproxy.sh SOCKET status BACKEND/SERVER           its status: UP, DOWN, DRAIN, MAINT…
#   haproxy.sh SOCKET weight BACKEND/SERVER           its current weight
#   haproxy.sh SOCKET 'set server orders/h1 weight 0' any other command: set/enable/disable must answer nothing
#   haproxy.sh SOCKET 'show stat'                     show commands print the answer
set -euo pipefail
sock=${1:?usage: haproxy.sh SOCKET COMMAND}
shift
[ -S "$sock" ] || { echo "haproxy.sh: no HAProxy socket at $sock" >&2; exit 1; }
# One command over the socket. socat exits non-zero only when it could not talk to HAProxy (the
# socket busy, a connect refused or cut): that is tried again, up to 5 times within about a second,
# so a rollback step does not fail on one refused connect. Every command sent here may be repeated:
# show, set weight, set state.
send() {
  local try answer
  for try in 1 2 3 4 5; do
    if answer=$(echo "$1" | socat -t 2 stdio "unix-connect:$sock"); then
      printf '%s\n' "$answer"
      return 0
    fi
    echo "haproxy.sh: no answer from HAProxy at $sock (try $try of 5): '$1'" >&2
    sleep 0.2
  done
  return 1
}

stat_field() { # backend/server, field name (a column of `show stat`)
  local px=${1%/*} sv=${1#*/}
  send 'show stat' | awk -F, -v px="$px" -v sv="$sv" -v f="$2" '
    NR == 1 { sub(/^# /, ""); for (i = 1; i <= NF; i++) col[$i] = i; next }
    $1 == px && $2 == sv { print $col[f]; found = 1 }
    END { exit found ? 0 : 1 }' || { echo "haproxy.sh: HAProxy has no server $1" >&2; return 1; }
}

state_field() { # backend/server, field of `show servers state` (srv_op_state: 2 running; srv_admin_state: 0 ready)
  local px=${1%/*} sv=${1#*/}
  send "show servers state $px" | awk -v sv="$sv" -v f="$2" '
    /^# / { sub(/^# /, ""); for (i = 1; i <= NF; i++) col[$i] = i; next }
    NF > 3 && $4 == sv { print $col[f]; found = 1 }
    END { exit found ? 0 : 1 }' || { echo "haproxy.sh: HAProxy has no server $1" >&2; return 1; }
}

set_cmd() {
  local answer
  answer=$(send "$*")
  # A command HAProxy accepted answers nothing (or a blank line).
  if [ -n "$(echo "$answer" | tr -d '[:space:]')" ]; then
    echo "haproxy.sh: HAProxy refused '$*': $answer" >&2
    exit 1
  fi
  echo "haproxy: $*"
}

wait_for() { # what, seconds, command…
  local what=$1 seconds=$2
  shift 2
  local end=$((SECONDS + seconds))
  until "$@"; do
    if [ $SECONDS -ge $end ]; then
      echo "haproxy.sh: $what not reached in ${seconds} s" >&2
      exit 1
    fi
    sleep 0.1
  done
}

case "$1" in
  drain)
    srv=${2:?server missing}
    stat_field "$srv" status > /dev/null
    set_cmd "set server $srv state drain"
    no_session() { [ "$(stat_field "$srv" scur)" = 0 ]; }
    wait_for "$srv without sessions" "${3:-30}" no_session
    echo "$srv drained: no session left"
    ;;
  ready)
    srv=${2:?server missing}
    set_cmd "set server $srv state ready"
    # Running by its checks and ready by the admin (a weight of 0, as a canary waiting has, is still ready).
    is_up() { [ "$(state_field "$srv" srv_op_state)" = 2 ] && [ "$(state_field "$srv" srv_admin_state)" = 0 ]; }
    wait_for "$srv UP" "${3:-20}" is_up
    echo "$srv is UP and takes traffic"
    ;;
  sessions) stat_field "${2:?server missing}" scur ;;
  status) stat_field "${2:?server missing}" status ;;
  weight) stat_field "${2:?server missing}" weight ;;
  show*) send "$*" ;;
  *) set_cmd "$*" ;;
esac
