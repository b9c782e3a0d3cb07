#!/usr/bin/env bash
# Runs the blue and green instances of the orders service behind the router.
#   instance.sh start COLOR VERSION | stop COLOR | health COLOR | ensure COLOR | switch COLOR
set -euo pipefail
cd "$(dirname "$0")/.."
source state/ports.env
cmd=${1:?usage: instance.sh start|stop|health|switch COLOR [VERSION]}
color=${2:?colour missing}
port_var="${color^^}_PORT"
port=${!port_var:?unknown colour $color}
pidfile="state/$color.pid"

stop() {
  if [ -f "$pidfile" ]; then
    kill "$(cat "$pidfile")" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$(cat "$pidfile")" 2>/dev/null || break; sleep 0.1; done
    rm -f "$pidfile"
  fi
}

case "$cmd" in
  start)
    version=${3:?version missing}
    stop
    # Each version runs from its own copy of the code, as a deployed artifact does: later commits
    # in the working tree never change what an instance runs.
    release="state/releases/$version"
    if [ ! -d "$release" ]; then
      mkdir -p "$release"
      cp -r service/. "$release/"
    fi
    # setsid + redirected output: the instance outlives this step, as a deployed service does.
    setsid nohup node "$release/server.js" --color "$color" --port "$port" --version "$version" --db data/app.db > "state/$color.log" 2>&1 < /dev/null &
    echo $! > "$pidfile"
    echo "$version" > "state/$color.version"
    echo "started $color ($version) on port $port, pid $(cat "$pidfile")"
    ;;
  stop)
    stop
    echo "stopped $color"
    ;;
  ensure)
    # A rollback switches to this colour: it must answer before traffic goes there.
    if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null && "$0" health "$color" > /dev/null 2>&1; then
      echo "$color is up ($(cat "state/$color.version" 2>/dev/null || echo unknown version))"
      exit 0
    fi
    version=$(cat "state/$color.version" 2>/dev/null) || { echo "$color is down and its last version is unknown" >&2; exit 1; }
    "$0" start "$color" "$version"
    for _ in $(seq 100); do "$0" health "$color" > /dev/null 2>&1 && { echo "$color is up again on $version"; exit 0; }; sleep 0.1; done
    echo "$color did not become healthy on $version" >&2
    exit 1
    ;;
  health)
    node -e "fetch('http://127.0.0.1:$port/health').then(async r => { const b = await r.json(); console.log(JSON.stringify(b)); process.exit(r.ok && b.status === 'ok' ? 0 : 1); }, e => { console.error(e.cause?.code ?? e.message); process.exit(1); })"
    ;;
  switch)
    echo "$color" > state/active.next
    mv state/active.next state/active
    echo "traffic now goes to $color"
    ;;
  *)
    echo "unknown command $cmd" >&2
    exit 2
    ;;
esac
