#!/usr/bin/env bash
# Splits the traffic between the canary host and the stable ones with HAProxy's runtime API:
#   weight.sh PERCENT   the canary gets PERCENT (0..100) of the requests, the stable hosts share the rest
#   weight.sh equal     every host the same weight again (100)
# HAProxy's weights are 0..256 and relative: with S stable hosts the canary gets w_c / (w_c + S·w_s).
# Environment: HAPROXY_SOCK (default state/haproxy.sock), CANARY (default h1), BACKEND (default orders).
set -euo pipefail
cd "$(dirname "$0")/.."
sock=${HAPROXY_SOCK:-state/haproxy.sock}
canary=${CANARY:-h1}
backend=${BACKEND:-orders}
arg=${1:?usage: weight.sh PERCENT|equal}
hap=tools/haproxy.sh

# Read first, then parsed: a failed read stops here with HAProxy's error (a process substitution
# would hide it behind "no backend").
stat=$("$hap" "$sock" 'show stat')
mapfile -t servers < <(awk -F, -v px="$backend" '$1 == px && $2 != "BACKEND" && $2 != "FRONTEND" { print $2 }' <<< "$stat")
[ "${#servers[@]}" -gt 0 ] || { echo "weight.sh: HAProxy has no backend $backend" >&2; exit 1; }
# Not `printf | grep -q`: with pipefail, grep leaving early can fail the pipeline on SIGPIPE.
[[ " ${servers[*]} " == *" $canary "* ]] || { echo "weight.sh: $canary is not a server of $backend" >&2; exit 1; }
stable=()
for s in "${servers[@]}"; do [ "$s" = "$canary" ] || stable+=("$s"); done

if [ "$arg" = equal ]; then
  wc=100 ws=100
else
  [[ "$arg" =~ ^[0-9]+$ ]] && [ "$arg" -le 100 ] || { echo "weight.sh: the percent must be 0..100, not '$arg'" >&2; exit 2; }
  read -r wc ws < <(awk -v p="$arg" -v n="${#stable[@]}" 'BEGIN {
    if (p == 0) { print 0, 100; exit }
    if (p == 100) { print 100, 0; exit }
    r = p / (100 - p) * n                      # w_c / w_s
    if (r <= 2.56) { ws = 100; wc = int(100 * r + 0.5) } else { wc = 256; ws = int(256 / r + 0.5) }
    if (wc < 1) wc = 1; if (ws < 1) ws = 1
    print wc, ws }')
fi
# The side that gains goes first: no moment where every weight is 0.
if [ "$wc" -ge "$ws" ]; then
  "$hap" "$sock" "set server $backend/$canary weight $wc" > /dev/null
  for s in "${stable[@]}"; do "$hap" "$sock" "set server $backend/$s weight $ws" > /dev/null; done
else
  for s in "${stable[@]}"; do "$hap" "$sock" "set server $backend/$s weight $ws" > /dev/null; done
  "$hap" "$sock" "set server $backend/$canary weight $wc" > /dev/null
fi
share=$(awk -v c="$wc" -v s="$ws" -v n="${#stable[@]}" 'BEGIN { printf "%.1f", (c + n * s) ? 100 * c / (c + n * s) : 0 }')
echo "canary $canary weight $wc, ${stable[*]} weight $ws each: the canary gets ${share} % of the requests"
