#!/usr/bin/env bash
# bench/soak.sh: the demo tailnet under light traffic for hours, with one restart of control and one of the relay.
#
#   mw-soak-hub      bridge br0 = 10.79.0.1/24; meshwire-control (SQLite) and meshwire-relay
#   mw-soak-alpha    10.79.0.11 }
#   mw-soak-beta     10.79.0.12 } the demo's three nodes: direct paths between them
#   mw-soak-gamma    10.79.0.13 }
#   mw-soak-delta    10.79.0.14 } the relay-only pair: iptables in both namespaces drop UDP between them, so
#   mw-soak-epsilon  10.79.0.15 } their traffic must go through the relay for the whole run
#
# Every node pings the next one once a second for the whole run (light traffic). Every INTERVAL the soak checks:
#   - every node says it is connected to control (meshwire status --json: controlConnected);
#   - every ordered pair of nodes passes a ping through the tailnet;
#   - the relay-only pair's path is "relay";
#   - resident memory and open file descriptors of every program (recorded in samples.csv).
# At DURATION/3 control is stopped (SIGTERM) and started again on the same state; at 2·DURATION/3 the relay is.
# A check that fails within GRACE seconds after a planned restart counts as expected; any other failure counts
# as lost. At the end, the node logs are searched for control-connection losses ("map stream ended", "Control
# unreachable") outside the restart windows, and memory and descriptors of each process are compared between its
# warm-up (WARMUP seconds after it started) and the end.
#
# The soak passes when nothing was lost (no failed check outside a restart window, no control loss outside one)
# and memory and descriptors stayed flat (growth under MAX_RSS_GROWTH_KIB and MAX_FD_GROWTH). Exit status 0 then,
# 1 otherwise; the summary says which bar failed.
#
# Usage: bench/soak.sh [--duration 2h|SECONDS] [--interval SECONDS] [--no-build] [--keep]
#   The programs are copied from out/ into the run directory first, so ./run build during the soak does not
#   disturb it. --keep leaves the run directory (logs, samples.csv, summary.txt) in place for reading; it is
#   always kept when the soak fails. SOAK_PREFIX and SOAK_SUBNET (e.g. mw-soak2, 10.80.0) let a second soak run
#   beside the first; SOAK_DIR names its run directory.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PREFIX=${SOAK_PREFIX:-mw-soak}
HUB=$PREFIX-hub
NODES=(alpha beta gamma delta epsilon)
SUBNET=${SOAK_SUBNET:-10.79.0}
SERVER=$SUBNET.1
CONTROL_URL=http://$SERVER:8080
RELAY_PORT=8443
RUN=${SOAK_DIR:-${TMPDIR:-/tmp}/$PREFIX}
USER_LOGIN=soak@example.com
DURATION=7200
INTERVAL=60
GRACE=${GRACE:-120}
WARMUP=${WARMUP:-600}
MAX_RSS_GROWTH_KIB=${MAX_RSS_GROWTH_KIB:-16384}
MAX_FD_GROWTH=${MAX_FD_GROWTH:-8}
BUILD=1
KEEP=0

parse_duration() {
    case "$1" in
        *h) echo $(( ${1%h} * 3600 )) ;;
        *m) echo $(( ${1%m} * 60 )) ;;
        *s) echo "${1%s}" ;;
        *) echo "$1" ;;
    esac
}

while [ $# -gt 0 ]; do
    case "$1" in
        --duration) DURATION=$(parse_duration "$2"); shift 2 ;;
        --interval) INTERVAL=$2; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        --keep) KEEP=1; shift ;;
        -h|--help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "soak: unknown option $1 (try --help)" >&2; exit 2 ;;
    esac
done
case "$DURATION$INTERVAL" in *[!0-9]*) echo "soak: --duration and --interval take seconds (or 2h, 30m)" >&2; exit 2 ;; esac
[ "$DURATION" -ge $((INTERVAL * 3)) ] || { echo "soak: the duration must be at least three intervals" >&2; exit 2; }

log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" | tee -a "$RUN/soak.log"; }

if [ "$(id -u)" != 0 ]; then
    echo "soak: creates network namespaces and TUN devices; run it as root." >&2
    exit 2
fi
for tool in ip iptables ping jq; do
    command -v "$tool" >/dev/null 2>&1 || { echo "soak: $tool is missing (apt-get install iproute2 iptables iputils-ping jq)" >&2; exit 2; }
done

# ---- programs: built, then copied into the run directory
if [ $BUILD = 1 ]; then
    "$ROOT/run" build
fi
for p in meshwire-control meshwire-relay meshwired meshwire; do
    [ -x "$ROOT/out/$p" ] || { echo "soak: out/$p is missing: run ./run build (or drop --no-build)" >&2; exit 2; }
done

BIN=$RUN/bin
stop_pid() {  # only a process that still runs one of the soak's copies (a recycled PID is left alone)
    local pid=$1
    if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q "$BIN/meshwire"; then
        kill -TERM "$pid" 2>/dev/null || true
        for i in $(seq 300); do
            kill -0 "$pid" 2>/dev/null || { STOP_TENTHS=$i; return 0; }
            sleep 0.1
        done
        STOP_TENTHS=killed
        kill -KILL "$pid" 2>/dev/null || true
    fi
}

FAILED=1
cleanup() {
    trap - EXIT INT TERM
    if [ -f "$RUN/pids" ]; then
        tac "$RUN/pids" | while read -r pid; do stop_pid "$pid"; done
    fi
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$PREFIX-" || true); do
        ip netns del "$ns" 2>/dev/null || true
    done
    if [ $FAILED = 0 ] && [ $KEEP = 0 ]; then
        rm -rf "$RUN"
    elif [ -d "$RUN" ]; then
        echo "soak: logs, samples and summary are in $RUN"
    fi
}

if [ -d "$RUN" ] || ip netns list 2>/dev/null | grep -q "^$PREFIX-"; then
    echo "soak: removing what an earlier soak left behind"
    if [ -f "$RUN/pids" ]; then tac "$RUN/pids" | while read -r pid; do stop_pid "$pid"; done; fi
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$PREFIX-" || true); do ip netns del "$ns" 2>/dev/null || true; done
    rm -rf "$RUN"
fi
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir -p "$RUN" "$BIN"
chmod 700 "$RUN"
cp -a "$ROOT/out/." "$BIN/"
: > "$RUN/pids"
echo "t,process,pid,rss_kib,fds" > "$RUN/samples.csv"
echo "t,check,subject,result" > "$RUN/checks.csv"
START=$(date +%s)
elapsed() { echo $(( $(date +%s) - START )); }
log "soak for ${DURATION}s, checks every ${INTERVAL}s, programs of commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown) copied into $BIN"

declare -A PID        # process name -> current PID
declare -A PID_START  # process name -> elapsed seconds when that PID started
start() {  # start NAME NAMESPACE LOG PROGRAM ARGS...
    local name=$1 ns=$2 logfile=$3
    shift 3
    ip netns exec "$ns" "$@" >>"$logfile" 2>&1 &
    PID[$name]=$!
    PID_START[$name]=$(elapsed)
    echo $! >> "$RUN/pids"
}

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
    local seconds=$1 what=$2
    shift 2
    for _ in $(seq $((seconds * 10))); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    log "timed out waiting for $what"
    return 1
}

# ---- network
ip netns add "$HUB"
ip -n "$HUB" link set lo up
ip -n "$HUB" link add br0 type bridge
ip -n "$HUB" addr add "$SERVER/24" dev br0
ip -n "$HUB" link set br0 up
declare -A UNDERLAY
host=11
for n in "${NODES[@]}"; do
    ns=$PREFIX-$n
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip link add eth0 netns "$ns" type veth peer name "s-$n" netns "$HUB"
    ip -n "$HUB" link set "s-$n" master br0
    ip -n "$HUB" link set "s-$n" up
    ip -n "$ns" addr add "$SUBNET.$host/24" dev eth0
    ip -n "$ns" link set eth0 up
    UNDERLAY[$n]=$SUBNET.$host
    host=$((host + 1))
done
# The relay-only pair: no UDP between delta and epsilon in either direction (the relay runs over TCP).
for pair in "delta epsilon" "epsilon delta"; do
    set -- $pair
    ip netns exec "$PREFIX-$1" iptables -A OUTPUT -p udp -d "${UNDERLAY[$2]}" -j DROP
    ip netns exec "$PREFIX-$1" iptables -A INPUT -p udp -s "${UNDERLAY[$2]}" -j DROP
done

# ---- control and relay
CONTROL=("$BIN/meshwire-control" --state "$RUN/control")
"${CONTROL[@]}" users create "$USER_LOGIN" >/dev/null
AUTHKEY=$("${CONTROL[@]}" authkeys create --user "$USER_LOGIN" --reusable --expiry 86400)
APIKEY=$("${CONTROL[@]}" apikeys create --expiry 86400)
printf '{"acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]}]}\n' > "$RUN/policy.hujson"
"${CONTROL[@]}" policy set "$RUN/policy.hujson" >/dev/null

healthy() { ip netns exec "$HUB" curl -fsS -o /dev/null --max-time 2 "$CONTROL_URL/healthz"; }
start_control_checked() {
    start control "$HUB" "$RUN/control.log" "${CONTROL[@]}" serve --listen "$CONTROL_URL" --server-url "$CONTROL_URL"
    wait_for 60 "meshwire-control to serve" healthy
}
start_relay() {
    start relay "$HUB" "$RUN/relay.log" "$BIN/meshwire-relay" --listen "$SERVER:$RELAY_PORT" --state-dir "$RUN/relay" --verify-clients "$CONTROL_URL"
    wait_for 60 "meshwire-relay to listen" ip netns exec "$HUB" bash -c "exec 3<>/dev/tcp/$SERVER/$RELAY_PORT"
}
start_control_checked
start_relay
ip netns exec "$HUB" curl -fsS -X PUT "$CONTROL_URL/api/v1/relays" -H "Authorization: Bearer $APIKEY" -H 'Content-Type: application/json' \
    --data "[{\"regionId\": 1, \"regionCode\": \"soak\", \"regionName\": \"Soak\", \"hostName\": \"$SERVER\", \"ipv4\": \"$SERVER\", \"port\": $RELAY_PORT, \"stunPort\": 3478, \"insecureHttp\": true}]" >/dev/null

# ---- nodes
socket_of() { echo "$RUN/$1/meshwired.sock"; }
cli() {  # cli NODE ARGS...
    local n=$1
    shift
    ip netns exec "$PREFIX-$n" timeout 20 "$BIN/meshwire" --socket "$(socket_of "$n")" "$@"
}
AUTHKEY_FILE=$RUN/authkey
( umask 077; printf '%s\n' "$AUTHKEY" > "$AUTHKEY_FILE" )
for n in "${NODES[@]}"; do
    mkdir -p "$RUN/$n"
    start "$n" "$PREFIX-$n" "$RUN/$n/meshwired.log" "$BIN/meshwired" --state "$RUN/$n/state" --tun "mw-$n" --socket "$(socket_of "$n")"
    wait_for 30 "$n's LocalAPI socket" test -S "$(socket_of "$n")"
    cli "$n" up --login-server "$CONTROL_URL" --authkey-file "$AUTHKEY_FILE" --hostname "$n" >/dev/null
done
declare -A IP
for n in "${NODES[@]}"; do
    for _ in $(seq 600); do
        IP[$n]=$(cli "$n" status --json 2>/dev/null | jq -r '.self.addresses[0] // empty' | cut -d/ -f1) || true
        [ -n "${IP[$n]}" ] && break
        sleep 0.1
    done
    [ -n "${IP[$n]}" ] || { log "$n got no tailnet address"; exit 1; }
    log "$n is ${IP[$n]} (underlay ${UNDERLAY[$n]})"
done

# ---- light traffic: each node pings the next once a second, for the whole run (bounded by count)
count=$((DURATION + 60))
for i in "${!NODES[@]}"; do
    from=${NODES[$i]}
    to=${NODES[$(( (i + 1) % ${#NODES[@]} ))]}
    ip netns exec "$PREFIX-$from" ping -i 1 -W 2 -c "$count" -q "${IP[$to]}" > "$RUN/$from/traffic.out" 2>&1 &
    echo $! >> "$RUN/traffic.pids"
done

# ---- the checks
LOST=0        # failed checks outside a restart window
EXPECTED=0    # failed checks inside one
RESTARTS=()   # elapsed seconds of each planned restart
in_grace() {
    local t=$1 r
    for r in "${RESTARTS[@]}"; do
        [ "$t" -ge "$r" ] && [ "$t" -lt $((r + GRACE)) ] && return 0
    done
    return 1
}
record() {  # record CHECK SUBJECT ok|fail
    local t
    t=$(elapsed)
    echo "$t,$1,$2,$3" >> "$RUN/checks.csv"
    if [ "$3" != ok ]; then
        if in_grace "$t"; then
            EXPECTED=$((EXPECTED + 1))
        else
            LOST=$((LOST + 1))
            log "LOST: $1 $2 at ${t}s"
        fi
    fi
}

sample() {
    local t name pid rss fds
    t=$(elapsed)
    for name in "${!PID[@]}"; do
        pid=${PID[$name]}
        rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
        fds=$(ls "/proc/$pid/fd" 2>/dev/null | wc -l)
        echo "$t,$name,$pid,${rss:-0},$fds" >> "$RUN/samples.csv"
    done
}

check_round() {
    local n m ok connected kind
    for n in "${NODES[@]}"; do
        connected=$(cli "$n" status --json 2>/dev/null | jq -r '.controlConnected' 2>/dev/null || echo error)
        [ "$connected" = true ] && ok=ok || ok=fail
        record control "$n" "$ok"
    done
    for n in "${NODES[@]}"; do
        for m in "${NODES[@]}"; do
            [ "$n" = "$m" ] && continue
            ok=fail
            for _ in 1 2 3; do
                if ip netns exec "$PREFIX-$n" ping -c 1 -W 2 -q "${IP[$m]}" >/dev/null 2>&1; then ok=ok; break; fi
            done
            record ping "$n-$m" "$ok"
        done
    done
    for pair in "delta epsilon" "epsilon delta"; do
        set -- $pair
        kind=$(cli "$1" status --json 2>/dev/null | jq -r --arg ip "${IP[$2]}" '.peers[] | select(any(.addresses[]; split("/")[0] == $ip)) | .path.kind' 2>/dev/null || echo error)
        [ "$kind" = relay ] && ok=ok || ok=fail
        record relay-only "$1-$2:$kind" "$ok"
    done
    sample
}

restart() {  # restart control|relay
    local name=$1
    RESTARTS+=("$(elapsed)")
    log "planned restart of $name (PID ${PID[$name]})"
    STOP_TENTHS=0
    stop_pid "${PID[$name]}"
    if [ "$STOP_TENTHS" = killed ]; then
        log "$name did not stop within 30 s of SIGTERM: killed"
    else
        log "$name stopped $((STOP_TENTHS / 10)).$((STOP_TENTHS % 10)) s after SIGTERM"
    fi
    if [ "$name" = control ]; then start_control_checked; else start_relay; fi
    log "$name is back as PID ${PID[$name]}"
}

START=$(date +%s)   # the run's clock starts with the checks; setup is not part of the duration
for name in "${!PID[@]}"; do PID_START[$name]=0; done
log "checking every ${INTERVAL}s; control restarts at $((DURATION / 3))s, the relay at $((2 * DURATION / 3))s"
restarted_control=0
restarted_relay=0
round=0
while [ "$(elapsed)" -lt "$DURATION" ]; do
    check_round
    round=$((round + 1))
    if [ $((round % 10)) = 0 ]; then
        log "round $round at $(elapsed)s: $LOST lost, $EXPECTED expected failures in restart windows"
    fi
    if [ $restarted_control = 0 ] && [ "$(elapsed)" -ge $((DURATION / 3)) ]; then restart control; restarted_control=1; fi
    if [ $restarted_relay = 0 ] && [ "$(elapsed)" -ge $((2 * DURATION / 3)) ]; then restart relay; restarted_relay=1; fi
    next=$(( round * INTERVAL ))
    while [ "$(elapsed)" -lt "$next" ] && [ "$(elapsed)" -lt "$DURATION" ]; do sleep 1; done
done
check_round

# ---- control losses in the node logs, outside the restart windows: each log line has no time stamp of its own,
# so the soak counts them against the number of planned control restarts: one episode per node is expected.
CONTROL_LOSSES=0
for n in "${NODES[@]}"; do
    ended=$(grep -c "map stream ended\|Control unreachable or refused" "$RUN/$n/meshwired.log" || true)
    # One control restart: the stream ends once, and reconnect attempts while control is down may log
    # "unreachable" a few times; both are one episode. Episodes are separated by a successful registration.
    episodes=$(awk '/map stream ended|Control unreachable or refused/ { if (!down) { episodes++; down = 1 } next }
                    /Engine has|Registered as node/ { down = 0 }
                    END { print episodes + 0 }' "$RUN/$n/meshwired.log")
    extra=$(( episodes > 1 ? episodes - 1 : 0 ))
    CONTROL_LOSSES=$((CONTROL_LOSSES + extra))
    log "$n: $episodes control-loss episodes in its log ($ended lines), 1 expected from the planned control restart"
    wrong=$(grep -c "wrong server key" "$RUN/$n/meshwired.log" || true)
    [ "$wrong" = 0 ] || { log "$n: 'wrong server key' $wrong times"; CONTROL_LOSSES=$((CONTROL_LOSSES + wrong)); }
done

# ---- memory and descriptors: per process (PID), warm-up sample against the last sample
FLAT=1
while IFS=, read -r name pid rss0 fd0 rss1 fd1 t0 t1; do
    growth=$((rss1 - rss0))
    fdgrowth=$((fd1 - fd0))
    verdict=flat
    if [ "$growth" -gt "$MAX_RSS_GROWTH_KIB" ] || [ "$fdgrowth" -gt "$MAX_FD_GROWTH" ]; then verdict=GROWING; FLAT=0; fi
    log "$(printf '%-8s PID %-7s RSS %6d -> %6d KiB (%+d), fds %3d -> %3d (%+d), from %ss to %ss: %s' "$name" "$pid" "$rss0" "$rss1" "$growth" "$fd0" "$fd1" "$fdgrowth" "$t0" "$t1" "$verdict")"
done < <(awk -F, -v warm="$WARMUP" 'NR > 1 {
            key = $2 "," $3
            if (!(key in first_t)) { first_t[key] = $1 }
            if ($1 - first_t[key] >= warm && !(key in w_rss)) { w_rss[key] = $4; w_fd[key] = $5; w_t[key] = $1 }
            l_rss[key] = $4; l_fd[key] = $5; l_t[key] = $1
         }
         END { for (k in w_rss) if (l_t[k] > w_t[k]) print k "," w_rss[k] "," w_fd[k] "," l_rss[k] "," l_fd[k] "," w_t[k] "," l_t[k] }' "$RUN/samples.csv" | sort)

# The background pings print their statistics on SIGINT.
while read -r pid; do
    tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q '^ping ' && kill -INT "$pid" 2>/dev/null || true
done < "$RUN/traffic.pids"
sleep 2
TRAFFIC_LOSS=$(for n in "${NODES[@]}"; do grep -o '[0-9]* received, [0-9.]*% packet loss' "$RUN/$n/traffic.out" 2>/dev/null | sed "s/^/$n: /" || true; done | tr '\n' ';')
CHECKS=$(($(wc -l < "$RUN/checks.csv") - 1))
{
    echo "soak: ${DURATION}s, $round rounds, $CHECKS checks: $LOST lost outside restart windows, $EXPECTED failed inside them (grace ${GRACE}s)"
    echo "soak: control losses outside the planned restart: $CONTROL_LOSSES"
    echo "soak: memory and descriptors flat: $([ $FLAT = 1 ] && echo yes || echo NO) (bars: RSS +${MAX_RSS_GROWTH_KIB} KiB, fds +${MAX_FD_GROWTH} after ${WARMUP}s of warm-up)"
    echo "soak: background ping (one a second per node, whole run): ${TRAFFIC_LOSS:-n/a}"
} | tee "$RUN/summary.txt" | tee -a "$RUN/soak.log"
if [ $LOST = 0 ] && [ $CONTROL_LOSSES = 0 ] && [ $FLAT = 1 ]; then
    FAILED=0
    echo "soak: PASS"
else
    echo "soak: FAIL"
    exit 1
fi
