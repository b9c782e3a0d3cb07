#!/usr/bin/env bash
# The orders service of one host, run from the host's folder: releases/<version>/ holds each
# installed version, `current` links the one that runs. host.env (written when the host was set
# up) says the host's name, address, port, node and the orders store the hosts share.
#   service.sh start | stop | status | version | switch VERSION
set -euo pipefail
cd "$(dirname "$0")"
source ./host.env
pidfile=service.pid

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

stop() {
  if running; then
    kill "$(cat "$pidfile")" 2>/dev/null || true
    for _ in $(seq 100); do running || break; sleep 0.02; done
    running && kill -9 "$(cat "$pidfile")" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

health() {
  # GET /health with bash alone (no process to start: this runs every 0.1 s while the service starts).
  local status=
  { exec 3<>"/dev/tcp/$HOST_ADDR/$SERVICE_PORT"; } 2>/dev/null || return 1
  printf 'GET /health HTTP/1.0\r\nHost: %s\r\n\r\n' "$HOST_ADDR" >&3
  read -r -t 2 _ status _ <&3 || true
  exec 3<&- 3>&-
  [ "$status" = 200 ]
}

case "${1:-}" in
  start)
    stop
    version=$(basename "$(readlink current)")
    # setsid + nohup + redirected output: the service outlives the ssh session that started it.
    setsid nohup "$NODE" current/server.js --host "$HOST_ADDR" --port "$SERVICE_PORT" --version "$version" --name "$HOST_NAME" --root "$PWD" --db "$ORDERS_DB" \
      >> service.log 2>&1 < /dev/null &
    echo $! > "$pidfile"
    for _ in $(seq 40); do
      if health; then echo "$HOST_NAME: orders-service $version up on $HOST_ADDR:$SERVICE_PORT (pid $(cat "$pidfile"))"; exit 0; fi
      running || break
      sleep 0.1
    done
    echo "$HOST_NAME: orders-service $version is not healthy on $HOST_ADDR:$SERVICE_PORT" >&2
    tail -5 service.log >&2 || true
    exit 1
    ;;
  switch)
    # current -> releases/VERSION, atomically (a new link renamed over the old one), then a restart.
    version=${2:?version missing}
    [ -f "releases/$version/server.js" ] || { echo "$HOST_NAME: release $version is not installed" >&2; exit 1; }
    ln -sfn "releases/$version" current.next
    mv -T current.next current
    exec "$0" start
    ;;
  stop)
    stop
    echo "$HOST_NAME: stopped"
    ;;
  status)
    running && health
    ;;
  version)
    basename "$(readlink current)"
    ;;
  *)
    echo "usage: service.sh start|stop|status|version" >&2
    exit 2
    ;;
esac
