#!/usr/bin/env bash
# Platform area at LXC scale (issue 15: <= 5 ms of sampler CPU per cycle with 200 containers).
# Makes N containers as Proxmox lays them out (lxc/<vmid> in the memory, cpuacct and pids
# hierarchies of this machine's v1/hybrid cgroups, one sleeping process in each, so the sampler
# also finds each one's init and statfs()es its root), then runs the sampler for CYCLES cycles
# twice on the same host: the platform source's lxc collector alone, and no platform source.
# The difference of the two processes' CPU time (user + system, all threads, from the kernel's
# rusage of the finished child) divided by the cycles is the collector's cost per cycle; the
# platform source's own wall duration is printed from the segment run too. Needs root.
# Both sides run with every other source off (--no-source.procs ... --no-source.bpf), so the
# host's interfaces, processes and conntrack table (other benches' veths and VMs) add neither CPU
# nor noise to the difference.
#   bench/platform.sh [N] [CYCLES]          default 200 100
#   BUILD=build-release bench/platform.sh   (default: build-release; made if missing)
#   SAMPLER=/tmp/x/hostflow-sampler bench/platform.sh   (that binary instead of $BUILD's)
#   BEFORE=/tmp/y/hostflow-sampler bench/platform.sh    (also this binary, each of its runs
#                                                        interleaved with the first one's)
#   RUNS=3 bench/platform.sh                (runs per side, default 2)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$here/build-release}
N=${1:-200}
CYCLES=${2:-100}
[ "$(id -u)" -eq 0 ] || { echo "bench/platform.sh: needs root" >&2; exit 1; }
RUNS=${RUNS:-2}
BEFORE=${BEFORE:-}
if [ -z "${SAMPLER:-}" ] && [ ! -x "$BUILD/sampler/hostflow-sampler" ]; then
  cmake -S "$here" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DHOSTFLOW_TESTS=OFF >/dev/null
  make -C "$BUILD" -j"$(nproc)" hostflow-sampler >/dev/null
fi
SAMPLER=${SAMPLER:-$BUILD/sampler/hostflow-sampler}
getent group hostflow >/dev/null || groupadd --system hostflow
cg=/sys/fs/cgroup
[ -f "$cg/cgroup.controllers" ] && { echo "bench/platform.sh: written for v1/hybrid cgroups (this machine's); pure v2 is not set up here" >&2; exit 1; }
cpuh=cpuacct; [ -d "$cg/cpuacct" ] || cpuh=cpu,cpuacct
base=$((90000 + ($$ % 5000)))  # vmids of our own, far from any real one
dir=$(mktemp -d); pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for h in memory "$cpuh" pids; do
    for i in $(seq 1 "$N"); do rmdir "$cg/$h/lxc/$((base + i))" 2>/dev/null || true; done
    rmdir "$cg/$h/lxc" 2>/dev/null || true
  done
  rm -rf "$dir"
}
trap cleanup EXIT

echo "== $N Proxmox-layout containers (lxc/<vmid>, memory + $cpuh + pids), one process each"
for i in $(seq 1 "$N"); do
  sleep 3600 &
  p=$!; pids+=("$p")
  for h in memory "$cpuh" pids; do
    mkdir -p "$cg/$h/lxc/$((base + i))"
    echo "$p" >"$cg/$h/lxc/$((base + i))/cgroup.procs"
  done
done

# CPU seconds (user + system) of one finished sampler run, from bash's rusage of its children.
# (Called in $(...): its own subshell waits for the sampler, so read that subshell's counters.)
others=(--no-source.procs --no-source.taps --no-source.links --no-source.addrs
  --no-source.conntrack --no-source.libvirt --no-source.docker --no-source.bpf)
run() {
  local t0 t1 me=$BASHPID bin=$1
  shift
  read -r t0 < <(awk '{print $14 + $15 + $16 + $17}' "/proc/$me/stat")
  "$bin" --segment "$dir/segment" --interval 100ms --cycles "$CYCLES" --no-wake "${others[@]}" "$@" \
    >"$dir/log" 2>&1 || { cat "$dir/log" >&2; exit 1; }
  read -r t1 < <(awk '{print $14 + $15 + $16 + $17}' "/proc/$me/stat")
  echo $((t1 - t0))  # clock ticks
}
hz=$(getconf CLK_TCK)
bins=("$SAMPLER")
[ -n "$BEFORE" ] && bins+=("$BEFORE")
# Warm the page cache and dentries once, then measure each side RUNS times, interleaved.
run "$SAMPLER" --source.platform --platform.collectors=lxc >/dev/null
declare -A on off
for b in "${!bins[@]}"; do on[$b]=0; off[$b]=0; done
for k in $(seq 1 "$RUNS"); do
  for b in "${!bins[@]}"; do
    on[$b]=$((on[$b] + $(run "${bins[$b]}" --source.platform --platform.collectors=lxc)))
    off[$b]=$((off[$b] + $(run "${bins[$b]}" --no-source.platform)))
  done
done
found=0
for i in $(seq 1 "$N"); do [ -d "$cg/memory/lxc/$((base + i))" ] && found=$((found + 1)); done
echo "containers set up: $found; cycles per run: $CYCLES (interval 100ms), $RUNS runs per side"
for b in "${!bins[@]}"; do
  echo "-- ${bins[$b]}"
  awk -v on="${on[$b]}" -v off="${off[$b]}" -v c="$CYCLES" -v hz="$hz" -v r="$RUNS" 'BEGIN {
    printf "sampler CPU per cycle: platform source (lxc) only %.2f ms, no source %.2f ms\n", on * 1000 / hz / (r * c), off * 1000 / hz / (r * c)
    printf "the lxc collector: %.2f ms of CPU per cycle for these containers (limit 5 ms at 200)\n", (on - off) * 1000 / hz / (r * c)
  }'
done
