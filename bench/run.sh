#!/usr/bin/env bash
# TUN relay benchmark. One command: `bench/run.sh [VARIANT...]` (as root).
#
# Builds bench/ (its own cargo workspace), then for ROUNDS rounds runs every
# relay variant in turn (interleaved: A B C A B C ...). For each it makes the
# relay create two TUN devices in a private namespace, moves one into
# namespace A and one into namespace B (10.77.0.1/24 and 10.77.0.2/24), so
# every packet between A and B goes through the relay, and measures:
#   TCP    iperf3, one stream A -> B, DURATION s: Gbit/s, retransmits
#   UDP    iperf3 -u -l 64 -b 0, DURATION s: received kpps, loss %
#   flood  64-byte UDP sendmmsg flood A -> B for FLOOD_SECS s: datagrams the
#          relay delivered to B's UDP layer per second, relay CPU
#          (utime+stime) per relayed packet
#   RSS    relay VmHWM
# Prints a markdown table and writes it to DOCS (default docs/performance.md;
# DOCS= to skip). Everything it creates is removed on exit, even on Ctrl-C.
#
# Environment: ROUNDS (3), DURATION (10), FLOOD_SECS (5), DOCS, NET (10.77.0),
# PIN (1: during the flood, generator on CPU 0 and relay on the other CPUs),
# NICE (-10: niceness of the script and all it starts, against other load).
set -euo pipefail

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
FLOOD_SECS=${FLOOD_SECS:-5}
NET=${NET:-10.77.0}
PIN=${PIN:-1}
NICE=${NICE:--10}
ALL_VARIANTS=(raw core tokio-ct tokio-mt async-std tokio-tun tokio-tun-mt tun-rs
    tokio-batch core-offload tokio-offload async-std-offload tun-rs-offload tun-rs-passthrough)

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
DOCS=${DOCS-$ROOT/docs/performance.md}
PERF=${PERF:-}
# Which loads to run, a subset of "tcp udp flood" (for quick experiments; the table shows "-"
# for the others).
LOADS=${LOADS:-tcp udp flood}
# A comma-separated perf event list counted over each flood window (see README.md).
PERF_STAT=${PERF_STAT:-}
if (($# > 0)); then VARIANTS=("$@"); else VARIANTS=("${ALL_VARIANTS[@]}"); fi

[[ $(id -u) == 0 ]] || { echo "run.sh: needs root (network namespaces, TUN)" >&2; exit 1; }
for tool in ip iperf3 python3; do
    command -v "$tool" >/dev/null || { echo "run.sh: $tool not found" >&2; exit 1; }
done

export CARGO_TARGET_DIR="$HERE/target"
cargo build --release --quiet --manifest-path "$HERE/Cargo.toml"
BIN="$CARGO_TARGET_DIR/release"
for v in "${VARIANTS[@]}"; do
    [[ -x $BIN/relay-$v ]] || { echo "run.sh: unknown variant '$v' (have: ${ALL_VARIANTS[*]})" >&2; exit 2; }
done

# Everything started from here on inherits the niceness (the build above does not).
if [[ -n $NICE ]]; then renice -n "$NICE" -p $$ >/dev/null; fi

# With autogroup scheduling (kernel.sched_autogroup_enabled=1) niceness counts only inside a
# session: every other session (another terminal's build at nice 19 included) gets as much CPU
# as this whole benchmark. So the runs go into a session of their own whose group gets the
# niceness too; the group goes away with the session. Ctrl-C and TERM still reach it.
if [[ -n $NICE && -z ${TUNBENCH_SESSION:-} && -e /proc/self/autogroup ]] \
    && [[ $(cat /proc/sys/kernel/sched_autogroup_enabled 2>/dev/null) == 1 ]]; then
    TUNBENCH_SESSION=1 setsid "$HERE/run.sh" "$@" &
    SESSION_PID=$!
    trap 'kill -TERM "$SESSION_PID" 2>/dev/null' INT TERM
    rc=0
    while kill -0 "$SESSION_PID" 2>/dev/null; do
        wait "$SESSION_PID" && rc=0 || rc=$?
    done
    exit "$rc"
fi
if [[ -n $NICE && -n ${TUNBENCH_SESSION:-} ]]; then
    echo "$NICE" >/proc/self/autogroup 2>/dev/null || echo "run.sh: could not set the autogroup's niceness" >&2
fi

# Unique names for this run.
ID=$$
NS_R=tunbench-r-$ID NS_A=tunbench-a-$ID NS_B=tunbench-b-$ID
DEV_A=tbA$ID DEV_B=tbB$ID
ADDR_A=$NET.1 ADDR_B=$NET.2
TMP=$(mktemp -d /tmp/tunbench.XXXXXX)
RESULTS=$TMP/results.tsv
CLK_TCK=$(getconf CLK_TCK)
NCPU=$(nproc)
if ((NCPU < 2)) || ! command -v taskset >/dev/null; then PIN=0; fi

RELAY_PID= IPERF_PID= SINK_PID= FLOOD_PID=
NAMESPACES=()

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

# Ends one process this script started: SIGTERM, then SIGKILL after 3 s.
stop_pid() {
    local pid=$1 i
    [[ -n $pid ]] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 30; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$? ns
    trap - EXIT INT TERM
    stop_pid "$FLOOD_PID"
    stop_pid "$RELAY_PID"
    stop_pid "$IPERF_PID"
    stop_pid "$SINK_PID"
    for ns in "${NAMESPACES[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
    if [[ -s $RESULTS ]]; then cp "$RESULTS" "$CARGO_TARGET_DIR/last-run.tsv"; fi
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkns() {
    ip netns add "$1"
    NAMESPACES+=("$1")
    ip -n "$1" link set lo up
    ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
}
mkns "$NS_R"
mkns "$NS_A"
mkns "$NS_B"

# Long-lived servers in B; they listen whether or not a relay is up.
ip netns exec "$NS_B" iperf3 -s >"$TMP/iperf-server.log" 2>&1 &
IPERF_PID=$!
ip netns exec "$NS_B" "$BIN/flood" sink 0.0.0.0:9000 &
SINK_PID=$!

record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$RESULTS"; }

# Starts relay-$1 and wires its devices into A and B.
start_relay() {
    local v=$1 i
    ip netns exec "$NS_R" "$BIN/relay-$v" "$DEV_A" "$DEV_B" 2>>"$TMP/relay-$v.log" &
    RELAY_PID=$!
    for ((i = 0; ; i++)); do
        if ip -n "$NS_R" link show "$DEV_A" >/dev/null 2>&1 && ip -n "$NS_R" link show "$DEV_B" >/dev/null 2>&1; then
            break
        fi
        if ! kill -0 "$RELAY_PID" 2>/dev/null || ((i > 100)); then
            echo "run.sh: relay-$v did not create its devices:" >&2
            cat "$TMP/relay-$v.log" >&2
            exit 1
        fi
        sleep 0.05
    done
    ip -n "$NS_R" link set "$DEV_A" netns "$NS_A"
    ip -n "$NS_R" link set "$DEV_B" netns "$NS_B"
    ip -n "$NS_A" addr add "$ADDR_A/24" dev "$DEV_A"
    ip -n "$NS_B" addr add "$ADDR_B/24" dev "$DEV_B"
    ip -n "$NS_A" link set "$DEV_A" up
    ip -n "$NS_B" link set "$DEV_B" up
    for ((i = 0; i < 10; i++)); do
        ip netns exec "$NS_A" ping -q -c 1 -W 1 "$ADDR_B" >/dev/null 2>&1 && return 0
    done
    echo "run.sh: no ping through relay-$v" >&2
    exit 1
}

stop_relay() {
    local v=$1 rc=0
    kill -TERM "$RELAY_PID"
    wait "$RELAY_PID" || rc=$?
    RELAY_PID=
    if ((rc != 0)); then
        echo "run.sh: relay-$v exited with status $rc on SIGTERM:" >&2
        cat "$TMP/relay-$v.log" >&2
        exit 1
    fi
    # The devices go away with the relay's file descriptors.
    for ((i = 0; i < 100; i++)); do
        ip -n "$NS_B" link show "$DEV_B" >/dev/null 2>&1 || ip -n "$NS_A" link show "$DEV_A" >/dev/null 2>&1 || return 0
        sleep 0.05
    done
}

# Prints "<time ns> <relay cpu ticks> <datagrams that reached UDP in B>" without forking.
# Counted by B's UDP layer (InDatagrams + RcvbufErrors of /proc/<sink pid>/net/snmp: the sink
# never reads, so once its buffer is full every datagram is a RcvbufError), not by B's device
# counter: a relay with offload writes up to 64 datagrams as one UDP super-packet, which the
# device counts once and UDP, after segmenting it, 64 times.
sample() {
    local line rest now names values i
    now=${EPOCHREALTIME/./}
    read -r line </proc/"$RELAY_PID"/stat
    rest=${line##*) }
    read -r -a f <<<"$rest"
    local ticks=$((f[11] + f[12]))
    local delivered=
    names=
    while read -r line; do
        [[ $line == Udp:* ]] || continue
        if [[ -z $names ]]; then
            read -r -a names <<<"$line"
        else
            read -r -a values <<<"$line"
            delivered=0
            for ((i = 1; i < ${#names[@]}; i++)); do
                case ${names[i]} in
                    InDatagrams | RcvbufErrors) delivered=$((delivered + values[i])) ;;
                esac
            done
            break
        fi
    done </proc/"$SINK_PID"/net/snmp
    echo "${now}000 $ticks $delivered"
}

# Prints the value of a python expression over iperf3's JSON output d; fails
# (and so ends the run) when iperf3 reported an error.
iperf_json() { # expr file
    python3 - "$1" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[2]))
if d.get("error"):
    sys.exit("run.sh: iperf3: " + d["error"])
print(eval(sys.argv[1]))
PY
}

run_tcp() {
    local v=$1 r=$2 out=$TMP/tcp.json
    ip netns exec "$NS_A" iperf3 -c "$ADDR_B" -t "$DURATION" -J >"$out" 2>&1 || {
        echo "run.sh: iperf3 TCP failed through relay-$v:" >&2; cat "$out" >&2; exit 1; }
    local gbps retr
    gbps=$(iperf_json 'd["end"]["sum_received"]["bits_per_second"]/1e9' "$out")
    retr=$(iperf_json 'd["end"]["sum_sent"]["retransmits"]' "$out")
    record "$r" "$v" tcp_gbps "$gbps"
    record "$r" "$v" tcp_retr "$retr"
}

run_udp() {
    local v=$1 r=$2 out=$TMP/udp.json
    ip netns exec "$NS_A" iperf3 -c "$ADDR_B" -u -l 64 -b 0 -t "$DURATION" -J >"$out" 2>&1 || {
        echo "run.sh: iperf3 UDP failed through relay-$v:" >&2; cat "$out" >&2; exit 1; }
    local s='d["end"]["sum_received"]'
    local kpps loss
    kpps=$(iperf_json "($s['packets']-$s['lost_packets'])/$s['seconds']/1e3" "$out")
    loss=$(iperf_json "$s['lost_percent']" "$out")
    record "$r" "$v" udp_kpps "$kpps"
    record "$r" "$v" udp_loss "$loss"
}

run_flood() {
    local v=$1 r=$2 t0 c0 p0 t1 c1 p1
    local gen=()
    if ((PIN)); then
        gen=(taskset -c 0)
        taskset -a -p -c "1-$((NCPU - 1))" "$RELAY_PID" >/dev/null
    fi
    ip netns exec "$NS_A" "${gen[@]}" "$BIN/flood" send "$ADDR_B:9000" "$((FLOOD_SECS + 2))" >"$TMP/flood.out" &
    FLOOD_PID=$!
    sleep 1
    read -r t0 c0 p0 < <(sample)
    if [[ -n $PERF_STAT ]]; then
        # Counting mode: scheduler and system-call events of the relay over the flood window,
        # divided by the packets relayed in it (summarize.py prints them per packet).
        perf stat -x, -o "$TMP/perf-stat.csv" -p "$RELAY_PID" -e "$PERF_STAT" -- sleep "$FLOOD_SECS" 2>/dev/null
    elif [[ -n $PERF ]]; then
        # Profile mode: sample the relay's stacks over the flood window (perf adds overhead,
        # so the figures of a profiled run are for orientation only).
        perf record -q -F 999 -g -p "$RELAY_PID" -o "$PERF/$v-round$r.data" -- sleep "$FLOOD_SECS" 2>/dev/null
    else
        sleep "$FLOOD_SECS"
    fi
    read -r t1 c1 p1 < <(sample)
    wait "$FLOOD_PID" || { echo "run.sh: flood generator failed" >&2; exit 1; }
    FLOOD_PID=
    if ((PIN)); then taskset -a -p -c "0-$((NCPU - 1))" "$RELAY_PID" >/dev/null; fi
    local pkts=$((p1 - p0))
    ((pkts > 0)) || { echo "run.sh: nothing relayed during the flood (relay-$v)" >&2; exit 1; }
    record "$r" "$v" flood_kpps "$(python3 -c "print($pkts / (($t1 - $t0) / 1e9) / 1e3)")"
    record "$r" "$v" cpu_ns "$(python3 -c "print(($c1 - $c0) / $CLK_TCK * 1e9 / $pkts)")"
    record "$r" "$v" flood_util "$(python3 -c "print(($c1 - $c0) / $CLK_TCK / (($t1 - $t0) / 1e9))")"
    record "$r" "$v" flood_sent "$(awk '{print $2}' "$TMP/flood.out")"
    if [[ -n $PERF_STAT ]]; then
        # perf stat -x, lines: value,unit,event,... ("<not counted>" values are skipped).
        local value event
        while IFS=, read -r value _ event _; do
            [[ $value =~ ^[0-9.]+$ && -n $event ]] || continue
            record "$r" "$v" "per_pkt:$event" "$(python3 -c "print($value / $pkts)")"
        done <"$TMP/perf-stat.csv"
    fi
}

run_variant() {
    local v=$1 r=$2 kb
    start_relay "$v"
    if [[ " $LOADS " == *" tcp "* ]]; then run_tcp "$v" "$r"; fi
    if [[ " $LOADS " == *" udp "* ]]; then run_udp "$v" "$r"; fi
    if [[ " $LOADS " == *" flood "* ]]; then run_flood "$v" "$r"; fi
    kb=$(awk '/^VmHWM:/ {print $2}' /proc/"$RELAY_PID"/status)
    record "$r" "$v" rss_mib "$(python3 -c "print($kb / 1024)")"
    stop_relay "$v"
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
log "rounds=$ROUNDS duration=${DURATION}s flood=${FLOOD_SECS}s loads: $LOADS variants: ${VARIANTS[*]}"
for ((round = 1; round <= ROUNDS; round++)); do
    for v in "${VARIANTS[@]}"; do
        log "round $round/$ROUNDS: $v"
        run_variant "$v" "$round"
    done
done

python3 "$HERE/summarize.py" "$RESULTS" "$DOCS" \
    "rounds=$ROUNDS" "duration=$DURATION" "flood_secs=$FLOOD_SECS" "pin=$PIN" "nice=$NICE" "variants=${VARIANTS[*]}" \
    "load_start=$LOAD_START" "load_end=$(cut -d' ' -f1-3 /proc/loadavg)"
