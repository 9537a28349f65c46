#!/usr/bin/env bash
# Throughput of the whole product: two meshwired nodes of the demo tailnet (./run demo: control, relay, three nodes
# in namespaces on one bridge), iperf3 TCP over their tailnet addresses for $SECONDS_PER_RUN seconds, first on the
# direct path discovery found, then relayed (alpha's namespace drops UDP to beta's address, so the path falls back to
# the relay over its TCP link). Besides the WireGuard engine this includes what meshwire-wg does not have: the
# policy's packet filter on every inbound packet and the path layer choosing each packet's way out. Compare with
# bench/wg-throughput.sh in the same ./run bench. Every address lives in the demo's namespaces; the demo is stopped
# (SIGTERM: it removes its namespaces and processes) on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
OUT=$(pwd)/out
RUN=${TMPDIR:-/tmp}/mw-demo
LOG=$(mktemp)
[ -x "$OUT/meshwired" ] || { echo "agent-throughput: out/meshwired missing; run ./run build" >&2; exit 2; }

DEMO=
cleanup() {
    if [ -n "$DEMO" ] && kill -0 "$DEMO" 2>/dev/null; then
        kill -TERM "$DEMO" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$DEMO" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$LOG"
}
trap cleanup EXIT

demo/demo.sh --no-build >"$LOG" 2>&1 </dev/null &
DEMO=$!
for _ in $(seq 1800); do
    grep -q '^Running (Ctrl-C' "$LOG" && break
    kill -0 "$DEMO" 2>/dev/null || break
    sleep 0.1
done
grep -q '^Running (Ctrl-C' "$LOG" || { echo "agent-throughput: the demo did not come up:" >&2; sed 's/\x1b\[[0-9;]*m//g' "$LOG" | tail -20 >&2; exit 1; }

cli() { ip netns exec "mw-demo-$1" "$OUT/meshwire" --socket "$RUN/$1/meshwired.sock" "${@:2}"; }
BETA=$(cli beta ip -4)
BETA_UNDERLAY=10.78.0.12

# The human status line of a peer: IP, name, user, then its path ("direct ADDR:PORT" or "relay ...").
path_to_beta() { cli alpha status | awk '$2 == "beta" { print $4 }'; }

wait_path() { # $1 = direct | relay
    for _ in $(seq 100); do
        ip netns exec mw-demo-alpha ping -c 1 -W 1 "$BETA" >/dev/null 2>&1 || true
        [ "$(path_to_beta)" = "$1" ] && return 0
        sleep 0.2
    done
    echo "agent-throughput: the path to beta never became $1 (now: $(path_to_beta))" >&2
    return 1
}

iperf() { # prints Mbit/s received
    ip netns exec mw-demo-beta iperf3 -s -1 -B "$BETA" >/dev/null 2>&1 &
    local server=$!
    sleep 0.5
    local mbps
    mbps=$(ip netns exec mw-demo-alpha iperf3 -c "$BETA" -t "$SECONDS_PER_RUN" -f m | awk '/receiver/ { print $7 }')
    wait "$server" 2>/dev/null || true
    echo "${mbps:-0}"
}

rtt() { ip netns exec mw-demo-alpha ping -q -c 50 -i 0.02 "$BETA" | awk -F'/' '/^rtt/ { print $5 }'; }

wait_path direct
direct_mbps=$(iperf); direct_rtt=$(rtt)
ip netns exec mw-demo-alpha iptables -I OUTPUT -p udp -d "$BETA_UNDERLAY" -j DROP
ip netns exec mw-demo-alpha iptables -I INPUT -p udp -s "$BETA_UNDERLAY" -j DROP
wait_path relay
relay_mbps=$(iperf); relay_rtt=$(rtt)
rss() { awk '/VmHWM/ { print $2 }' "/proc/$(pgrep -f "meshwired --state $RUN/$1/" | head -1)/status"; }

echo "| meshwired alpha → beta ($SECONDS_PER_RUN s iperf3 TCP, 50 pings) | Mbit/s | RTT (ms) |"
echo "|---|---|---|"
echo "| direct (UDP between the namespaces) | $direct_mbps | $direct_rtt |"
echo "| relayed (UDP dropped; the relay's TCP link) | $relay_mbps | $relay_rtt |"
echo "peak RSS: alpha $(( $(rss alpha) / 1024 )) MiB, beta $(( $(rss beta) / 1024 )) MiB"
