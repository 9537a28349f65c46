#!/usr/bin/env bash
# ./run demo: a whole tailnet on this machine, in network namespaces.
#
#   mw-demo-hub     bridge br0 = 10.78.0.1/24; meshwire-control (http://10.78.0.1:8080, SQLite) and meshwire-relay
#   mw-demo-alpha   eth0 = 10.78.0.11 on the bridge; meshwired, TUN mw-alpha
#   mw-demo-beta    eth0 = 10.78.0.12;               meshwired, TUN mw-beta
#   mw-demo-gamma   eth0 = 10.78.0.13;               meshwired, TUN mw-gamma
#
# Everything lives in namespaces the demo creates; the host's own network is not touched. Ctrl-C stops the
# programs the demo started (by PID), deletes the namespaces (which takes the veths and the bridge along) and
# removes the run directory. A crashed run leaves its PIDs in the run directory; the next run stops them
# (only if they are still demo programs) and removes the namespaces first.
#
# Options: --no-build   use the programs already in out/ (./run build puts them there)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT=$ROOT/out
PREFIX=mw-demo
HUB=$PREFIX-hub
NODES=(alpha beta gamma)
SUBNET=10.78.0
SERVER=$SUBNET.1
CONTROL_URL=http://$SERVER:8080
RELAY_PORT=8443
RUN=${TMPDIR:-/tmp}/$PREFIX
USER_LOGIN=demo@example.com
BUILD=1

for arg in "$@"; do
    case "$arg" in
        --no-build) BUILD=0 ;;
        -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "demo: unknown option $arg (try --help)" >&2; exit 2 ;;
    esac
done

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { echo "demo: $*" >&2; exit 1; }

# ---- requirements: checked, never installed behind the user's back
if [ "$(id -u)" != 0 ]; then
    echo "demo: the demo creates network namespaces and TUN devices, which needs root." >&2
    echo "      run it as: sudo ./run demo" >&2
    exit 2
fi
missing=()
command -v ip >/dev/null 2>&1 && ip netns list >/dev/null 2>&1 || missing+=("iproute2 (the ip command, with netns support)")
command -v ping >/dev/null 2>&1 || missing+=("iputils-ping (ping)")
if [ $BUILD = 1 ] && ! command -v dotnet >/dev/null 2>&1; then
    missing+=("the .NET 10 SDK (dotnet), to build the programs")
fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "demo: missing:" >&2
    printf '  - %s\n' "${missing[@]}" >&2
    echo "      on Debian or Ubuntu: apt-get install iproute2 iputils-ping (and the .NET 10 SDK from https://dot.net)" >&2
    exit 2
fi
[ -e /dev/net/tun ] || die "/dev/net/tun is missing: load the tun module (modprobe tun) or give the container access to it"
HAVE_CURL=0
command -v curl >/dev/null 2>&1 && HAVE_CURL=1

# ---- leftovers of an earlier run with the same names
stop_pid() {
    local pid=$1
    # Only a process that is still one of ours: a program from out/ (a recycled PID is left alone).
    if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q "$OUT/meshwire"; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    fi
}

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    if [ -f "$RUN/pids" ]; then
        # Nodes first, then the relay and control: the reverse of the start order.
        tac "$RUN/pids" | while read -r pid; do stop_pid "$pid"; done
    fi
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$PREFIX-" || true); do
        ip netns del "$ns" 2>/dev/null || true
    done
    rm -rf "$RUN"
    return "$status"
}

if [ -d "$RUN" ] || ip netns list 2>/dev/null | grep -q "^$PREFIX-"; then
    say "removing what an earlier demo left behind"
    cleanup || true
fi

# ---- build
if [ $BUILD = 1 ]; then
    say "building (./run build publishes into out/)"
    "$ROOT/run" build
fi
for p in meshwire-control meshwire-relay meshwired; do
    [ -x "$OUT/$p" ] || die "$OUT/$p is missing: run ./run build (or drop --no-build)"
done
HAVE_CLI=0
[ -x "$OUT/meshwire" ] && "$OUT/meshwire" --help 2>&1 | grep -q '\bup\b' && HAVE_CLI=1
DAEMON_SOCKET=0
"$OUT/meshwired" --help 2>&1 | grep -q -- '--socket' && DAEMON_SOCKET=1

trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir -p "$RUN"
chmod 700 "$RUN"
: > "$RUN/pids"

start() {  # start NAMESPACE LOG PROGRAM ARGS...: runs in the background, records the PID (ip netns exec execs it)
    local ns=$1 log=$2
    shift 2
    ip netns exec "$ns" "$@" >"$log" 2>&1 &
    echo $! >> "$RUN/pids"
}

wait_for() {  # wait_for SECONDS DESCRIPTION LOG COMMAND...: on timeout shows the end of LOG (cleanup removes it)
    local seconds=$1 what=$2 log=$3
    shift 3
    for _ in $(seq $((seconds * 10))); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "demo: timed out waiting for $what; the end of $log:" >&2
    tail -n 20 "$log" >&2 || true
    exit 1
}

# ---- network: one bridge in the hub, one veth per node
say "creating namespaces $HUB and ${NODES[*]/#/$PREFIX-} on a bridge ($SUBNET.0/24)"
ip netns add "$HUB"
ip -n "$HUB" link set lo up
ip -n "$HUB" link add br0 type bridge
ip -n "$HUB" addr add "$SERVER/24" dev br0
ip -n "$HUB" link set br0 up
host=11
for n in "${NODES[@]}"; do
    ns=$PREFIX-$n
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip link add eth0 netns "$ns" type veth peer name "p-$n" netns "$HUB"
    ip -n "$HUB" link set "p-$n" master br0
    ip -n "$HUB" link set "p-$n" up
    ip -n "$ns" addr add "$SUBNET.$host/24" dev eth0
    ip -n "$ns" link set eth0 up
    host=$((host + 1))
done

# ---- coordination server: user, key and policy go straight into the database before it starts
say "starting meshwire-control on $CONTROL_URL (SQLite in $RUN/control)"
CONTROL=("$OUT/meshwire-control" --state "$RUN/control")
"${CONTROL[@]}" users create "$USER_LOGIN" >/dev/null
# The auth key goes to the nodes in a 0600 file, never on a command line (which every local user can read).
(umask 077 && "${CONTROL[@]}" authkeys create --user "$USER_LOGIN" --reusable --expiry 86400 > "$RUN/authkey")
APIKEY=$("${CONTROL[@]}" apikeys create --expiry 86400)
cat > "$RUN/policy.hujson" <<'POLICY'
{
  // The demo's access policy: every node may reach every other node on every port.
  // Try narrowing it, e.g. {"action": "accept", "src": ["*"], "dst": ["*:22"]}.
  "acls": [
    {"action": "accept", "src": ["*"], "dst": ["*:*"]},
  ],
}
POLICY
"${CONTROL[@]}" policy set "$RUN/policy.hujson" >/dev/null
start "$HUB" "$RUN/control.log" "${CONTROL[@]}" serve --listen "$CONTROL_URL" --server-url "$CONTROL_URL"
wait_for 60 "meshwire-control to serve" "$RUN/control.log" grep -q "serving on" "$RUN/control.log"

say "starting meshwire-relay on $SERVER:$RELAY_PORT (STUN on udp 3478)"
start "$HUB" "$RUN/relay.log" "$OUT/meshwire-relay" --listen "$SERVER:$RELAY_PORT" --state-dir "$RUN/relay" --verify-clients "$CONTROL_URL"
wait_for 60 "meshwire-relay to listen" "$RUN/relay.log" grep -q "listening on" "$RUN/relay.log"
if [ $HAVE_CURL = 1 ]; then
    ip netns exec "$HUB" curl -fsS -X PUT "$CONTROL_URL/api/v1/relays" -H "Authorization: Bearer $APIKEY" -H 'Content-Type: application/json' \
        --data "[{\"regionId\": 1, \"regionCode\": \"demo\", \"regionName\": \"Demo\", \"hostName\": \"$SERVER\", \"ipv4\": \"$SERVER\", \"port\": $RELAY_PORT, \"stunPort\": 3478, \"insecureHttp\": true}]" >/dev/null
    echo "    relay registered in the relay map (PUT /api/v1/relays)"
else
    echo "    curl is not installed: the relay runs but is not in the relay map (install curl to register it)"
fi

# ---- nodes
tailnet_ip() {  # the node's IPv4 tailnet address, from the map meshwired caches in its state directory
    [ -f "$RUN/$1/state/netmap.json" ] || return 0
    tr -d '\n' < "$RUN/$1/state/netmap.json" | sed -n 's/.*"self" *: *{[^}]*"addresses" *: *\[ *"\([0-9.]*\)\/.*/\1/p'
}
has_ip() { [ -n "$(tailnet_ip "$1")" ]; }
socket_of() { echo "$RUN/$1/meshwired.sock"; }

for n in "${NODES[@]}"; do
    mkdir -p "$RUN/$n"
    if [ $HAVE_CLI = 1 ] && [ $DAEMON_SOCKET = 1 ]; then
        say "$n: meshwired --socket, then meshwire up --login-server $CONTROL_URL --authkey-file $RUN/authkey --hostname $n"
        start "$PREFIX-$n" "$RUN/$n/meshwired.log" "$OUT/meshwired" --state "$RUN/$n/state" --tun "mw-$n" --socket "$(socket_of "$n")"
        wait_for 30 "$n's LocalAPI socket" "$RUN/$n/meshwired.log" test -S "$(socket_of "$n")"
        ip netns exec "$PREFIX-$n" "$OUT/meshwire" --socket "$(socket_of "$n")" up --login-server "$CONTROL_URL" --authkey-file "$RUN/authkey" --hostname "$n"
    else
        say "$n: meshwired --login-server $CONTROL_URL --authkey-file $RUN/authkey --hostname $n (this build has no meshwire up yet)"
        start "$PREFIX-$n" "$RUN/$n/meshwired.log" "$OUT/meshwired" --state "$RUN/$n/state" --tun "mw-$n" \
            --login-server "$CONTROL_URL" --authkey-file "$RUN/authkey" --hostname "$n"
    fi
done

declare -A IP
for n in "${NODES[@]}"; do
    wait_for 60 "$n's tailnet address" "$RUN/$n/meshwired.log" has_ip "$n"
    IP[$n]=$(tailnet_ip "$n")
    echo "    $n is ${IP[$n]}"
done

# ---- show it working
if [ $HAVE_CLI = 1 ] && "$OUT/meshwire" --help 2>&1 | grep -q '\bstatus\b'; then
    say "meshwire status, on alpha"
    ip netns exec "$PREFIX-alpha" "$OUT/meshwire" --socket "$(socket_of alpha)" status || true
else
    say "the tailnet as control sees it (GET /api/v1/nodes; this build's meshwire CLI has no status yet)"
    if [ $HAVE_CURL = 1 ]; then
        { ip netns exec "$HUB" curl -fsS "$CONTROL_URL/api/v1/nodes" -H "Authorization: Bearer $APIKEY"; echo; } \
            | tr '{' '\n' | sed -n 's/.*"name":"\([^"]*\)".*"[iI][pP]v4":"\([^"]*\)".*"online":\([a-z]*\).*/    \1  \2  online=\3/p'
    fi
fi

ping_pair() {
    local from=$1 to=$2
    for _ in $(seq 20); do
        if ip netns exec "$PREFIX-$from" ping -c 3 -i 0.2 -W 1 -q "${IP[$to]}" > "$RUN/ping.out" 2>&1; then
            echo "    $from -> $to (${IP[$to]}): $(grep -o '[0-9]* received.*loss' "$RUN/ping.out"), average $(awk -F/ '/^rtt/ {print $5}' "$RUN/ping.out") ms"
            return 0
        fi
    done
    echo "    $from -> $to (${IP[$to]}): no reply (see $RUN/$from/meshwired.log)"
}
say "pinging between the nodes over the tailnet"
ping_pair alpha beta
ping_pair beta gamma
ping_pair gamma alpha
if [ $HAVE_CLI = 1 ]; then
    say "meshwire ping, on alpha: each reply and the path it took (relayed first, direct once discovery proves a path)"
    ip netns exec "$PREFIX-alpha" "$OUT/meshwire" --socket "$(socket_of alpha)" ping -c 3 gamma | sed 's/^/    /' || true
fi

cat <<INFO

Running (Ctrl-C stops everything and cleans up):
  meshwire-control  in $HUB, $CONTROL_URL, state $RUN/control, log $RUN/control.log
  meshwire-relay    in $HUB, http://$SERVER:$RELAY_PORT, log $RUN/relay.log
$(for n in "${NODES[@]}"; do printf '  meshwired %-7s in %s, tailnet %s, state %s, log %s\n' "$n" "$PREFIX-$n" "${IP[$n]}" "$RUN/$n/state" "$RUN/$n/meshwired.log"; done)

Try, in another terminal:
  sudo ip netns exec $PREFIX-alpha $OUT/meshwire --socket $(socket_of alpha) status$([ $HAVE_CLI = 1 ] || echo "    # once the meshwire CLI has landed")
  sudo ip netns exec $PREFIX-alpha $OUT/meshwire --socket $(socket_of alpha) ping beta      # and: whois IP:PORT, netcheck, ip, --json
  sudo ip netns exec $PREFIX-alpha ping ${IP[beta]}
  sudo ip netns exec $PREFIX-beta bash          # a shell on beta; its tailnet interface is mw-beta
  sudo ip netns exec $HUB curl -s $CONTROL_URL/api/v1/nodes -H 'Authorization: Bearer $APIKEY'
  sudo ip netns exec $HUB curl -s -X PUT $CONTROL_URL/api/v1/policy -H 'Authorization: Bearer $APIKEY' \\
       -H 'Content-Type: application/json' --data '{"text": "{\"acls\": []}"}'   # then ping again: denied
INFO

# Short sleeps: the trap runs as soon as the current one ends.
while :; do sleep 1; done
