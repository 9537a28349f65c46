#!/usr/bin/env bash
# Throughput, latency and memory of meshwire-wg against Debian's wireguard-go, in one run on one machine.
# For each implementation: two network namespaces joined by a veth pair, the implementation on both sides,
# iperf3 TCP for $SECONDS_PER_RUN seconds through the tunnel, ping RTT, and the daemons' peak RSS (VmHWM).
# Every address used lives inside the namespaces this script creates; everything is removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
ROUNDS=${ROUNDS:-2}
MW=$(pwd)/out/meshwire-wg
[ -x "$MW" ] || { echo "bench: $MW missing; run ./run build" >&2; exit 2; }

PIDS=()
cleanup() {
    for pid in "${PIDS[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; done
    # Wait until they are gone: an exiting daemon removes its UAPI socket, which must not be the next one's.
    for pid in "${PIDS[@]:-}"; do [ -n "$pid" ] && wait "$pid" 2>/dev/null || true; done
    for ns in mwbench-a mwbench-b; do ip netns del "$ns" 2>/dev/null || true; done
    rm -f /var/run/wireguard/mwbench0.sock /var/run/wireguard/mwbench1.sock
}
final_cleanup() { cleanup; rm -f "${RESULT:-}"; }
trap final_cleanup EXIT

setup() { # $1 = daemon binary
    cleanup
    PIDS=()
    ip netns add mwbench-a
    ip netns add mwbench-b
    ip link add mwbv0 netns mwbench-a type veth peer name mwbv1 netns mwbench-b
    ip -n mwbench-a addr add 10.203.0.1/24 dev mwbv0
    ip -n mwbench-b addr add 10.203.0.2/24 dev mwbv1
    for ns in mwbench-a mwbench-b; do ip -n $ns link set lo up; done
    ip -n mwbench-a link set mwbv0 up
    ip -n mwbench-b link set mwbv1 up
    local ka kb pa pb
    ka=$(wg genkey); kb=$(wg genkey); pa=$(echo "$ka" | wg pubkey); pb=$(echo "$kb" | wg pubkey)
    local i=0
    for ns in mwbench-a mwbench-b; do
        WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 LOG_LEVEL=error ip netns exec $ns "$1" -f mwbench$i >/dev/null 2>&1 &
        PIDS+=($!)
        i=$((i + 1))
    done
    for s in 0 1; do
        for _ in $(seq 100); do [ -S /var/run/wireguard/mwbench$s.sock ] && break; sleep 0.05; done
    done
    ip netns exec mwbench-a wg set mwbench0 listen-port 51820 private-key <(echo "$ka") peer "$pb" endpoint 10.203.0.2:51821 allowed-ips 10.204.0.2/32
    ip netns exec mwbench-b wg set mwbench1 listen-port 51821 private-key <(echo "$kb") peer "$pa" endpoint 10.203.0.1:51820 allowed-ips 10.204.0.1/32
    ip -n mwbench-a addr add 10.204.0.1/24 dev mwbench0
    ip -n mwbench-b addr add 10.204.0.2/24 dev mwbench1
    ip -n mwbench-a link set mwbench0 up
    ip -n mwbench-b link set mwbench1 up
    ip netns exec mwbench-a ping -c 2 -W 5 10.204.0.2 >/dev/null
}

measure() { # $1 = name, $2 = binary; prints "mbps rtt_ms rss_a_kb rss_b_kb"
    setup "$2"
    ip netns exec mwbench-b iperf3 -s -1 -B 10.204.0.2 >/dev/null 2>&1 &
    local server=$!
    sleep 0.5
    local mbps
    mbps=$(ip netns exec mwbench-a iperf3 -c 10.204.0.2 -t "$SECONDS_PER_RUN" -f m | awk '/receiver/ { print $7 }')
    mbps=${mbps:-0}
    wait $server 2>/dev/null || true
    local rtt
    rtt=$(ip netns exec mwbench-a ping -q -c 50 -i 0.02 10.204.0.2 | awk -F'/' '/^rtt/ { print $5 }')
    local rss_a rss_b
    rss_a=$(awk '/VmHWM/ { print $2 }' /proc/"${PIDS[0]}"/status)
    rss_b=$(awk '/VmHWM/ { print $2 }' /proc/"${PIDS[1]}"/status)
    echo "$mbps $rtt $rss_a $rss_b"
}

declare -A MBPS RTT RSS
RESULT=$(mktemp)
for round in $(seq "$ROUNDS"); do
    for impl in wireguard-go meshwire-wg; do
        bin=$([ $impl = meshwire-wg ] && echo "$MW" || command -v wireguard-go)
        # Run in this shell (not a subshell) so that PIDS stays visible to the cleanup trap.
        measure $impl "$bin" > "$RESULT"
        read -r mbps rtt ra rb < "$RESULT"
        echo "round $round $impl: ${mbps} Mbit/s, rtt ${rtt} ms, peak RSS ${ra}/${rb} KiB" >&2
        MBPS[$impl]="${MBPS[$impl]:-} $mbps"
        RTT[$impl]="${RTT[$impl]:-} $rtt"
        RSS[$impl]="${RSS[$impl]:-} $ra $rb"
    done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
max() { tr ' ' '\n' | grep -v '^$' | sort -g | tail -1; }

mw_mbps=$(echo "${MBPS[meshwire-wg]}" | median); go_mbps=$(echo "${MBPS[wireguard-go]}" | median)
mw_rtt=$(echo "${RTT[meshwire-wg]}" | median); go_rtt=$(echo "${RTT[wireguard-go]}" | median)
mw_rss=$(echo "${RSS[meshwire-wg]}" | max); go_rss=$(echo "${RSS[wireguard-go]}" | max)

echo
echo "| metric (median of $ROUNDS rounds, ${SECONDS_PER_RUN} s iperf3) | meshwire-wg | wireguard-go | ratio meshwire/go |"
echo "|---|---|---|---|"
awk -v a="$mw_mbps" -v b="$go_mbps" 'BEGIN { printf "| TCP throughput (Mbit/s, higher is better) | %s | %s | %.2f |\n", a, b, (b > 0 ? a / b : 0) }'
awk -v a="$mw_rtt" -v b="$go_rtt" 'BEGIN { printf "| ping RTT (ms, lower is better) | %s | %s | %.2f |\n", a, b, (b > 0 ? a / b : 0) }'
awk -v a="$mw_rss" -v b="$go_rss" 'BEGIN { printf "| peak RSS per daemon (KiB) | %s | %s | %.2f |\n", a, b, (b > 0 ? a / b : 0) }'
