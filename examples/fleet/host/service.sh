#!/usr/bin/env bash
# The orders service of one host, run from the host's folder: releases/<version>/ holds each
# installed version, `current` links the one that runs. host.env (written when the host was set
# up) says the host's name, address, port and node.
#   service.sh start | stop | status | version
set -euo pipefail
cd "$(dirname "$0")"
source ./host.env
pidfile=service.pid

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

stop() {
  if running; then
    kill "$(cat "$pidfile")" 2>/dev/null || true
    for _ in $(seq 100); do running || break; sleep 0.05; done
    running && kill -9 "$(cat "$pidfile")" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

health() {
  "$NODE" -e "fetch('http://$HOST_ADDR:$SERVICE_PORT/health').then(r => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1))"
}

case "${1:-}" in
  start)
    stop
    version=$(basename "$(readlink current)")
    # setsid + nohup + redirected output: the service outlives the ssh session that started it.
    setsid nohup "$NODE" current/server.js --host "$HOST_ADDR" --port "$SERVICE_PORT" --version "$version" --name "$HOST_NAME" --root "$PWD" \
      >> service.log 2>&1 < /dev/null &
    echo $! > "$pidfile"
    for _ in $(seq 60); do
      if health; then echo "$HOST_NAME: orders-service $version up on $HOST_ADDR:$SERVICE_PORT (pid $(cat "$pidfile"))"; exit 0; fi
      running || break
      sleep 0.1
    done
    echo "$HOST_NAME: orders-service $version is not healthy on $HOST_ADDR:$SERVICE_PORT" >&2
    tail -5 service.log >&2 || true
    exit 1
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
