#!/usr/bin/env bash
# Profiles one relay variant under one iperf3 TCP stream: `bench/profile-tcp.sh VARIANT [SECS]`
# (as root, after `bench/run.sh` built bench/target/release). The relay runs in the benchmark's
# topology (its own namespace, one device moved into namespace A and one into B) and
# `perf record -g` samples it for SECS seconds (default 6) into /tmp/profile-VARIANT.data; read it
# with `perf report -i /tmp/profile-VARIANT.data --no-children --sort symbol`. Prints iperf3's
# result. The namespaces exist only for the run.
set -u
v=${1:?usage: bench/profile-tcp.sh VARIANT [SECS]}
secs=${2:-6}
BIN=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/target/release
r=tunprof-r-$$ a=tunprof-a-$$ b=tunprof-b-$$
relay=
cleanup() {
  [ -z "$relay" ] || kill "$relay" 2>/dev/null
  wait 2>/dev/null
  for ns in "$r" "$a" "$b"; do ip netns del "$ns" 2>/dev/null; done
}
trap cleanup EXIT
for ns in "$r" "$a" "$b"; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
ip netns exec "$r" "$BIN/relay-$v" tpa$$ tpb$$ & relay=$!
sleep 1
ip -n "$r" link set tpa$$ netns "$a"; ip -n "$r" link set tpb$$ netns "$b"
ip -n "$a" addr add 10.88.0.1/24 dev tpa$$; ip -n "$b" addr add 10.88.0.2/24 dev tpb$$
ip -n "$a" link set tpa$$ up; ip -n "$b" link set tpb$$ up
ip netns exec "$b" iperf3 -s -1 >/dev/null 2>&1 &
sleep 0.5
ip netns exec "$a" iperf3 -c 10.88.0.2 -t $((secs + 2)) >"/tmp/profile-$v.iperf" 2>&1 & client=$!
sleep 1
perf record -q -F 1999 -g -p "$relay" -o "/tmp/profile-$v.data" -- sleep "$secs" 2>/dev/null
wait "$client"
grep -E "sender|receiver" "/tmp/profile-$v.iperf"
