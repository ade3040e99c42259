#!/usr/bin/env bash
# Interface-scale benchmark: N ifb interfaces in a private netns, hostflow (sampler + exporter)
# side by side with `prometheus-node-exporter --collector.disable-defaults --collector.netdev`
# in the same netns. Prints scrape latency (median, p99 over SCRAPES scrapes, gzip as Prometheus
# asks and plain), RSS of every process, the sampler's CPU time per cycle and the exporter's render
# time. Needs root. Usage:
#   bench/interfaces.sh [N ...]            default: 500 2000
#   BUILD=build-release SCRAPES=200 bench/interfaces.sh 2000
#   HOSTFLOW_COMPARE_EXPORTER=/work/bench-old/build/exporter/hostflow-exporter bench/interfaces.sh 2000
#     also runs that exporter binary (several: colon-separated, HOSTFLOW_COMPARE_LABELS names them)
#     on the same segment at the same time, own ports and state dirs, and prints all side by side
#     with ratios: CPU per snapshot, render wall median, gzip scrapes, RSS (bench/compare_exporters.sh)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$here/build-release}
SCRAPES=${SCRAPES:-200}
CYCLE_WINDOW=${CYCLE_WINDOW:-10}   # seconds over which sampler CPU per cycle is measured
[ "$(id -u)" -eq 0 ] || { echo "bench/interfaces.sh: needs root (netns, ifb)" >&2; exit 1; }
command -v prometheus-node-exporter >/dev/null || { echo "install prometheus-node-exporter (scripts/install-deps.sh bench)" >&2; exit 1; }
if [ ! -x "$BUILD/sampler/hostflow-sampler" ] || [ ! -x "$BUILD/bench/hostflow-scrape-bench" ]; then
  cmake -S "$here" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DHOSTFLOW_TESTS=OFF >/dev/null
  make -C "$BUILD" -j"$(nproc)" hostflow-sampler hostflow-exporter hostflow-scrape-bench >/dev/null
fi
COMPARE=${HOSTFLOW_COMPARE_EXPORTER:-}
if [ -n "$COMPARE" ]; then
  . "$here/bench/compare_exporters.sh"
  cmp_check
fi
getent group hostflow >/dev/null || groupadd --system hostflow
getent passwd hostflow >/dev/null || useradd --system --gid hostflow --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin hostflow

sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(500 2000)

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
cpu_ns() { awk '{print $1}' "/proc/$1/schedstat"; }   # on-CPU time of the (single) main thread
metric() { ip netns exec "$ns" curl -s "http://127.0.0.1:$hport/metrics" | awk -v m="$1" '$1 == m {print $2}'; }

cleanup() {
  for p in ${pids:-}; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -n "${ns:-}" ] && ip netns del "$ns" 2>/dev/null || true
  [ -n "${dir:-}" ] && rm -rf "$dir"
  true   # the exit status is the bench's, not the last test's here
}
trap cleanup EXIT

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), kernel $(uname -r), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
for n in "${sizes[@]}"; do
  ns="hfbench$$n$n"; dir=$(mktemp -d); pids=""
  hport=19471; nport=19100
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  # n interfaces in all: lo + (n-1) ifb, half of them up
  seq 1 $((n - 1)) | awk '{print "link add ifbb" $1 " type ifb"; if ($1 % 2) print "link set ifbb" $1 " up"}' | ip -n "$ns" -batch -
  chgrp hostflow "$dir"; chmod 0750 "$dir"
  ip netns exec "$ns" "$BUILD/sampler/hostflow-sampler" --segment "$dir/segment" --interval 1s --log.level warn &
  spid=$!; pids="$pids $spid"
  for _ in $(seq 100); do [ -e "$dir/segment" ] && break; sleep 0.05; done
  state_args=()
  [ -n "$COMPARE" ] && { install -d -o hostflow -g hostflow "$dir/state-new"; state_args=(--state.dir "$dir/state-new"); }
  ip netns exec "$ns" setpriv --reuid=hostflow --regid=hostflow --clear-groups --bounding-set=-all --inh-caps=-all -- \
    "$BUILD/exporter/hostflow-exporter" --segment "$dir/segment" --web.listen-address "127.0.0.1:$hport" --log.level warn "${state_args[@]}" &
  epid=$!; pids="$pids $epid"
  if [ -n "$COMPARE" ]; then
    CMP_NS=$ns CMP_SEGMENT=$dir/segment CMP_SCRAPE_BENCH=$BUILD/bench/hostflow-scrape-bench
    CMP_LABELS=(new) CMP_PIDS=("$epid") CMP_PORTS=("$hport") CMP_BINS=("$BUILD/exporter/hostflow-exporter")
    cmp_start "$ns" "$dir/segment" "$dir" $((hport + 1))
  fi
  ip netns exec "$ns" prometheus-node-exporter --collector.disable-defaults --collector.netdev \
    --web.listen-address "127.0.0.1:$nport" --log.level=warn 2>/dev/null &
  npid=$!; pids="$pids $npid"
  for _ in $(seq 200); do
    ip netns exec "$ns" curl -sf "http://127.0.0.1:$hport/-/ready" >/dev/null && \
      ip netns exec "$ns" curl -sf "http://127.0.0.1:$nport/metrics" >/dev/null && break
    sleep 0.05
  done
  ifaces=$(ip netns exec "$ns" curl -s "http://127.0.0.1:$hport/metrics" | grep -c '^hostflow_interface_info{' || true)

  # Sampler CPU per cycle over a window of whole cycles.
  g0=$(metric hostflow_snapshot_generation); c0=$(cpu_ns "$spid")
  sleep "$CYCLE_WINDOW"
  g1=$(metric hostflow_snapshot_generation); c1=$(cpu_ns "$spid")
  cycles=$(( ${g1%.*} - ${g0%.*} ))
  cpu_ms=$(awk -v a="$c0" -v b="$c1" -v c="$cycles" 'BEGIN { printf "%.2f", (b - a) / c / 1e6 }')
  render_ms=$(metric hostflow_exporter_render_duration_seconds | awk '{ printf "%.2f", $1 * 1000 }')

  echo "== N=$n interfaces (hostflow sees $ifaces), $SCRAPES scrapes each"
  for enc in gzip plain; do
    h=$(ip netns exec "$ns" "$BUILD/bench/hostflow-scrape-bench" "http://127.0.0.1:$hport/metrics" "$SCRAPES" "$enc")
    x=$(ip netns exec "$ns" "$BUILD/bench/hostflow-scrape-bench" "http://127.0.0.1:$nport/metrics" "$SCRAPES" "$enc")
    hm=$(sed 's/.*median_ms=\([^ ]*\).*/\1/' <<<"$h"); xm=$(sed 's/.*median_ms=\([^ ]*\).*/\1/' <<<"$x")
    echo "hostflow      $h"
    echo "node_exporter $x"
    echo "ratio ($enc): node_exporter median / hostflow median = $(awk -v a="$xm" -v b="$hm" 'BEGIN { printf "%.1fx", a / b }')"
  done
  echo "rss_kb: sampler=$(rss_kb "$spid") exporter=$(rss_kb "$epid") node_exporter=$(rss_kb "$npid")"
  echo "sampler cpu per cycle: ${cpu_ms} ms over $cycles cycles; exporter render: ${render_ms} ms"
  if [ -n "$COMPARE" ]; then
    cmp_wait_ready
    cmp_report
  fi
  cleanup; pids=""; ns=""; dir=""
done
