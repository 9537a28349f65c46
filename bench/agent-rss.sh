#!/usr/bin/env bash
# Idle memory of meshwired holding $PEERS peers (default 100): a coordination server on a veth this script creates,
# $PEERS registered nodes with open map streams (the benchmark's fan-out clients, no data plane), then one real
# meshwired in a namespace joins, receives every peer into its WireGuard engine, idles $IDLE seconds, and its
# VmRSS / VmHWM are read from /proc. Every address used lives on the veth pair created here; all removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
PEERS=${PEERS:-100}
IDLE=${IDLE:-20}
OUT=$(pwd)/out
BENCH=bench/Meshwire.Benchmarks/bin/Release/net10.0/Meshwire.Benchmarks.dll
[ -x "$OUT/meshwired" ] || { echo "agent-rss: out/meshwired missing; run ./run build" >&2; exit 2; }
dotnet build bench/Meshwire.Benchmarks -c Release --nologo -v quiet >/dev/null
NS=mwrss-node
VETH=mwrss0
URL=http://10.214.0.1:18480
STATE=$(mktemp -d)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]:-}"; do [ -n "$pid" ] && wait "$pid" 2>/dev/null || true; done
    ip netns del "$NS" 2>/dev/null || true
    ip link del "$VETH" 2>/dev/null || true
    rm -rf "$STATE"
}
trap cleanup EXIT
cleanup_leftovers() { ip netns del "$NS" 2>/dev/null || true; ip link del "$VETH" 2>/dev/null || true; }
cleanup_leftovers

ip netns add "$NS"
ip link add "$VETH" type veth peer name eth0 netns "$NS"
ip addr add 10.214.0.1/24 dev "$VETH"
ip link set "$VETH" up
ip -n "$NS" addr add 10.214.0.2/24 dev eth0
ip -n "$NS" link set eth0 up
ip -n "$NS" link set lo up

CTL=("$OUT/meshwire-control" --state "$STATE/control")
"${CTL[@]}" users create bench@example.com >/dev/null
KEY=$("${CTL[@]}" authkeys create --user bench@example.com --reusable | tail -1 | tr -d '[:space:]')
"${CTL[@]}" serve --listen "$URL" >"$STATE/control.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do grep -q "listening\|Now listening\|serving" "$STATE/control.log" 2>/dev/null && break; sleep 0.1; done
sleep 1

# The peers: registered nodes holding map streams open (they print "ready" once every stream has its map).
dotnet "$BENCH" control-fanout-clients "$URL" - "$KEY" "$PEERS" - >"$STATE/peers.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 600); do grep -q '^ready' "$STATE/peers.log" && break; sleep 0.1; done
grep -q '^ready' "$STATE/peers.log" || { echo "agent-rss: the $PEERS peers did not come up" >&2; cat "$STATE/peers.log" >&2; exit 1; }

ip netns exec "$NS" "$OUT/meshwired" --state "$STATE/node" --tun mwrss --socket "$STATE/node.sock" \
    --login-server "$URL" --authkey "$KEY" --hostname rss-node >"$STATE/node.log" 2>&1 &
PID=$!
PIDS+=($PID)
for _ in $(seq 1 300); do grep -q "Engine has $PEERS peers" "$STATE/node.log" && break; sleep 0.1; done
grep -q "Engine has $PEERS peers" "$STATE/node.log" || { echo "agent-rss: meshwired never held $PEERS peers" >&2; tail -20 "$STATE/node.log" >&2; exit 1; }
sleep "$IDLE"
RSS=$(awk '/^VmRSS/ {print $2}' "/proc/$PID/status")
HWM=$(awk '/^VmHWM/ {print $2}' "/proc/$PID/status")
echo "| meshwired, $PEERS peers, idle ${IDLE}s | RSS $((RSS / 1024)) MiB | peak RSS $((HWM / 1024)) MiB |"
# SMAPS=1: where the resident memory is, by mapping (file-backed: the binary and libraries; anonymous: heap, stacks).
if [ "${SMAPS:-0}" = 1 ]; then
    awk '/^[0-9a-f]+-[0-9a-f]+ / { name = ($6 == "" ? "[anon]" : $6) } /^Rss:/ { rss[name] += $2 }
         END { for (n in rss) if (rss[n] >= 256) printf "%8d KiB  %s\n", rss[n], n }' "/proc/$PID/smaps" | sort -rn
    echo "meshwired's own mappings (permissions, size, resident):"
    awk -v bin="$OUT/meshwired" '/^[0-9a-f]+-[0-9a-f]+ / { keep = ($6 == bin); perm = $2 } keep && /^Size:/ { size = $2 }
         keep && /^Rss:/ { printf "  %s %8d KiB %8d KiB\n", perm, size, $2 }' "/proc/$PID/smaps"
fi
