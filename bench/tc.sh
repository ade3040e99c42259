#!/usr/bin/env bash
# eBPF TC counters benchmark (issue 7). Needs root. Two parts:
#  1. Per-packet cost of hostflow's TC program, from kernel.bpf_stats_enabled (run_time_ns /
#     run_cnt of each program, as `bpftool prog show` reports them), over PINGS flood pings across
#     a veth pair in private namespaces: an empty TC program (the measurement's own cost), then
#     hostflow's program on its fast path (per-CPU array), then with the hash fallback forced
#     (--bpf.array-ifindexes=2). Same machine, same veth, one after the other.
#  2. The sampler's counter read for N interfaces (lo + N-1 ifb, all attached):
#     hostflow_tc_read_duration_seconds over READS cycles, median and max.
# Usage: bench/tc.sh [N]          env: BUILD (default build-release), PINGS (100000), READS (10)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$here/build-release}
PINGS=${PINGS:-100000}
READS=${READS:-10}
N=${1:-2000}
[ "$(id -u)" -eq 0 ] || { echo "bench/tc.sh: needs root (netns, TC filters, bpf stats)" >&2; exit 1; }
for c in clang bpftool tc curl python3; do
  command -v $c >/dev/null || { echo "bench/tc.sh: $c missing (scripts/install-deps.sh build test bench)" >&2; exit 1; }
done
if [ ! -x "$BUILD/sampler/hostflow-sampler" ] || [ ! -x "$BUILD/exporter/hostflow-exporter" ]; then
  cmake -S "$here" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DHOSTFLOW_TESTS=OFF >/dev/null
  make -C "$BUILD" -j"$(nproc)" hostflow-sampler hostflow-exporter >/dev/null
fi
getent group hostflow >/dev/null || groupadd --system hostflow

a=h7ba$$ b=h7bb$$ r=h7br$$ va=h7bva$$ vb=h7bvb$$
dir=$(mktemp -d /tmp/h7-bench.XXXXXX)
stats_before=$(sysctl -n kernel.bpf_stats_enabled)
pids=""
cleanup() {
  for p in $pids; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  sysctl -qw kernel.bpf_stats_enabled="$stats_before"
  for n in $a $b $r; do ip netns del $n 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT
chgrp hostflow "$dir"; chmod 0750 "$dir"

echo "machine: $(nproc) cores, kernel $(uname -r), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "build: $BUILD"

# ---- 1. per-packet cost -----------------------------------------------------------------------
for n in $a $b; do
  ip netns add $n
  ip netns exec $n sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip -n $n link set lo up
done
ip -n $a link add $va type veth peer name $vb netns $b
ip -n $a addr add 192.0.2.1/30 dev $va
ip -n $b addr add 192.0.2.2/30 dev $vb
ip -n $a link set $va up
ip -n $b link set $vb up
mac() { ip -n "$1" -j link show dev "$2" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])'; }
ip -n $a neigh replace 192.0.2.2 lladdr "$(mac $b $vb)" dev $va nud permanent
ip -n $b neigh replace 192.0.2.1 lladdr "$(mac $a $va)" dev $vb nud permanent

cat >"$dir/empty.bpf.c" <<'C'
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
SEC("tc") int hf_bench_empty(struct __sk_buff *skb) { return TC_ACT_UNSPEC; }
C
clang -O2 -g -target bpf -idirafter "/usr/include/$(gcc -print-multiarch)" -c "$dir/empty.bpf.c" -o "$dir/empty.bpf.o"

# ids of the bpf programs on a hook, from tc's filter listing
prog_ids() { ip netns exec $a tc filter show dev $va "$1" | sed -n 's/.* id \([0-9]*\) .*/\1/p'; }
run_stats() { bpftool prog show id "$1" -j | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("run_time_ns",0), d.get("run_cnt",0))'; }
flood() { ip netns exec $a ping -f -q -c "$PINGS" -s 56 192.0.2.2 >/dev/null; }
report() {  # label
  local hook id t c
  for hook in ingress egress; do
    for id in $(prog_ids $hook); do
      read -r t c < <(run_stats "$id")
      [ "$c" -gt 0 ] && printf '%-34s %-7s prog %-6s runs %-8s %6.1f ns/run\n' "$1" $hook "$id" "$c" "$(awk -v t="$t" -v c="$c" 'BEGIN {print t / c}')"
    done
  done
}
sysctl -qw kernel.bpf_stats_enabled=1

ip netns exec $a tc qdisc add dev $va clsact
for hook in ingress egress; do
  ip netns exec $a tc filter add dev $va $hook prio 1 handle 1 bpf da obj "$dir/empty.bpf.o" sec tc
done
flood; report "empty TC program"
for hook in ingress egress; do ip netns exec $a tc filter del dev $va $hook prio 1 handle 1 bpf; done

hostflow_phase() {  # label, extra sampler flags...
  local label=$1; shift
  ip netns exec $a "$BUILD/sampler/hostflow-sampler" --segment "$dir/segment" --interval 1s \
    --source.bpf --no-source.libvirt --bpf.interfaces="$va" --log.level warn "$@" &
  local spid=$!
  for _ in $(seq 100); do [ -n "$(prog_ids ingress)" ] && [ -n "$(prog_ids egress)" ] && break; sleep 0.1; done
  flood; report "$label"
  kill $spid; wait $spid 2>/dev/null || true
}
hostflow_phase "hostflow (per-CPU array)"
hostflow_phase "hostflow (hash fallback forced)" --bpf.array-ifindexes=2
sysctl -qw kernel.bpf_stats_enabled="$stats_before"

# ---- 2. counter read for N interfaces ---------------------------------------------------------
ip netns add $r
ip -n $r link set lo up
seq 1 $((N - 1)) | awk '{print "link add h7bi" $1 " type ifb"}' | ip -n $r -batch -
port=18790
ip netns exec $r "$BUILD/sampler/hostflow-sampler" --segment "$dir/segment2" --interval 1s \
  --source.bpf --no-source.libvirt --log.level warn &
pids="$pids $!"
for _ in $(seq 100); do [ -e "$dir/segment2" ] && break; sleep 0.05; done
ip netns exec $r "$BUILD/exporter/hostflow-exporter" --segment "$dir/segment2" --allow-root \
  --web.listen-address "127.0.0.1:$port" --log.level warn &
pids="$pids $!"
metrics() { ip netns exec $r curl -s "http://127.0.0.1:$port/metrics" || true; }
t0=$(date +%s.%N)
for _ in $(seq 600); do
  att=$(metrics | awk '$1 ~ /^hostflow_tc_interface_attached/ {s += $2} END {print s + 0}')
  [ "${att:-0}" -ge "$N" ] && break
  sleep 0.5
done
echo "attached $att of $N interfaces in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}') s"
reads=() cpus=()
last=""
while [ ${#reads[@]} -lt "$READS" ]; do
  m=$(metrics)
  gen=$(echo "$m" | awk '$1 == "hostflow_snapshot_generation" {print $2}')
  if [ -n "$gen" ] && [ "$gen" != "$last" ]; then
    reads+=("$(echo "$m" | awk '$1 == "hostflow_tc_read_duration_seconds" {printf "%.3f", $2 * 1000}')")
    cpus+=("$(echo "$m" | awk '$1 == "hostflow_tc_read_cpu_seconds" {printf "%.3f", $2 * 1000}')")
    last=$gen
  fi
  sleep 0.2
done
summary() {  # label values...
  local label=$1; shift
  local sorted; sorted=$(printf '%s\n' "$@" | sort -n)
  echo "$label for $N interfaces over $# cycles: median $(echo "$sorted" | sed -n "$((($# + 1) / 2))p") ms, max $(echo "$sorted" | tail -1) ms (all: $(echo $sorted))"
}
summary "counter read, wall" "${reads[@]}"
summary "counter read, CPU" "${cpus[@]}"
