#!/usr/bin/env bash
# Container-scale benchmark (issue 5): NS network namespaces, each with one process (in its own
# cgroup v2 leaf, as a container has) and PER veth pairs whose host ends sit in a bench "host"
# netns on bridges -- NS x PER veth pairs in all (default 200 x 10 = 2000). The sampler runs in
# the bench host netns; a cycle is links (own dump + one per-netns dump each) + procs + the nsid
# map, and the docker source finds no socket. Measures the sampler's CPU per cycle (all threads,
# schedstat), the exporter's render time and a scrape. Needs root. Usage:
#   bench/containers.sh [NS] [PER]        default 200 10
#   BUILD=build-release CYCLE_WINDOW=20 bench/containers.sh
#   SAMPLER_ARGS="--no-source.addrs --no-source.conntrack" bench/containers.sh   (issue 5's cycle only)
#   HOSTFLOW_COMPARE_EXPORTER=/work/bench-old/build/exporter/hostflow-exporter bench/containers.sh
#     also runs that exporter binary (several: colon-separated, HOSTFLOW_COMPARE_LABELS names them)
#     on the same segment at the same time, own ports and state dirs, and prints all side by side
#     with ratios: CPU per snapshot, render wall median, gzip scrapes, RSS (bench/compare_exporters.sh)
#   OTLP=1 bench/containers.sh   also pushes every rendering over OTLP/HTTP (gzip) to a stand-in
#     collector (tests/otlp/receiver.py) in the bench netns, every second, and prints the push's
#     conversion + encoding time next to the render time (issue 15: <= 25 %), medians of 1 s samples
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$here/build-release}
NS=${1:-200}
PER=${2:-10}
CYCLE_WINDOW=${CYCLE_WINDOW:-20}
[ "$(id -u)" -eq 0 ] || { echo "bench/containers.sh: needs root" >&2; exit 1; }
if [ ! -x "$BUILD/sampler/hostflow-sampler" ]; then
  cmake -S "$here" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DHOSTFLOW_TESTS=OFF >/dev/null
  make -C "$BUILD" -j"$(nproc)" hostflow-sampler hostflow-exporter >/dev/null
fi
COMPARE=${HOSTFLOW_COMPARE_EXPORTER:-}
if [ -n "$COMPARE" ]; then
  . "$here/bench/compare_exporters.sh"
  cmp_check
  [ -x "$BUILD/bench/hostflow-scrape-bench" ] || make -C "$BUILD" -j"$(nproc)" hostflow-scrape-bench >/dev/null
fi
getent group hostflow >/dev/null || groupadd --system hostflow
getent passwd hostflow >/dev/null || useradd --system --gid hostflow --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin hostflow
cg2=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/self/mounts)

host="hfbch$$"; dir=$(mktemp -d); pids=""; spids=""
cgbase="$cg2/hfbench$$"
cleanup() {
  for p in $pids $spids; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for i in $(seq 1 "$NS"); do ip netns del "hfbc$$-$i" 2>/dev/null || true; done
  ip netns del "$host" 2>/dev/null || true
  for d in "$cgbase"/*/; do rmdir "$d" 2>/dev/null || true; done
  rmdir "$cgbase" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
ip netns add "$host"; ip -n "$host" link set lo up
mkdir -p "$cgbase"
chgrp hostflow "$dir"; chmod 0750 "$dir"

echo "creating $NS namespaces x $PER veth pairs..."
t0=$(date +%s.%N)
{
  for b in $(seq 1 $(( (NS + 49) / 50 ))); do echo "link add hfbbr$b type bridge"; echo "link set hfbbr$b up"; done
  for i in $(seq 1 "$NS"); do
    for j in $(seq 1 "$PER"); do
      echo "link add h${i}v$j type veth peer name e$j netns hfbc$$-$i"
      echo "link set h${i}v$j master hfbbr$(( (i + 49) / 50 )) up"
    done
  done
} > "$dir/batch"
for i in $(seq 1 "$NS"); do ip netns add "hfbc$$-$i"; done
ip -n "$host" -batch "$dir/batch"
for i in $(seq 1 "$NS"); do
  mkdir -p "$cgbase/c$i"
  ip netns exec "hfbc$$-$i" sleep 100000 &   # ip netns exec execs: $! is sleep
  spids="$spids $!"
  echo $! > "$cgbase/c$i/cgroup.procs"   # from here: /sys is remounted inside the netns
done
echo "  took $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"

ip netns exec "$host" "$BUILD/sampler/hostflow-sampler" --segment "$dir/segment" --interval 1s \
  --no-source.libvirt --docker.socket "$dir/no-docker.sock" --log.level warn ${SAMPLER_ARGS:-} &
spid=$!; pids="$pids $spid"
for _ in $(seq 100); do [ -e "$dir/segment" ] && break; sleep 0.1; done
state_args=()
otlp_args=()
if [ -n "${OTLP:-}" ]; then
  mkdir -p "$dir/otlp"
  ip netns exec "$host" python3 "$here/tests/otlp/receiver.py" "$dir/otlp" ok &
  pids="$pids $!"
  for _ in $(seq 100); do [ -e "$dir/otlp/port" ] && break; sleep 0.1; done
  otlp_args=(--output.otlp.endpoint "http://127.0.0.1:$(cat "$dir/otlp/port")" --output.otlp.interval 1s)
fi
[ -n "$COMPARE" ] && { install -d -o hostflow -g hostflow "$dir/state-new"; state_args=(--state.dir "$dir/state-new"); }
ip netns exec "$host" setpriv --reuid=hostflow --regid=hostflow --clear-groups --bounding-set=-all --inh-caps=-all -- \
  "$BUILD/exporter/hostflow-exporter" --segment "$dir/segment" --web.listen-address 127.0.0.1:19473 --log.level warn "${state_args[@]}" "${otlp_args[@]}" &
epid=$!; pids="$pids $epid"
if [ -n "$COMPARE" ]; then
  CMP_NS=$host CMP_SEGMENT=$dir/segment CMP_SCRAPE_BENCH=$BUILD/bench/hostflow-scrape-bench
  CMP_LABELS=(new) CMP_PIDS=("$epid") CMP_PORTS=(19473) CMP_BINS=("$BUILD/exporter/hostflow-exporter")
  cmp_start "$host" "$dir/segment" "$dir" 19474
fi
metric() { ip netns exec "$host" curl -s http://127.0.0.1:19473/metrics | awk -v m="$1" '$1 == m {print $2}'; }
cpu_ns() { local s=0; for t in /proc/"$1"/task/*/schedstat; do s=$((s + $(cut -d' ' -f1 "$t"))); done; echo "$s"; }
for _ in $(seq 100); do [ -n "$(metric hostflow_snapshot_generation)" ] && break; sleep 0.2; done
sleep 3
g0=$(metric hostflow_snapshot_generation); c0=$(cpu_ns "$spid"); e0=$(cpu_ns "$epid")
if [ -n "${OTLP:-}" ]; then
  # One sample a second of the last render and the last push encoding (both wall, one thread each).
  for _ in $(seq "$CYCLE_WINDOW"); do
    ip netns exec "$host" curl -s http://127.0.0.1:19473/metrics |
      awk '$1 == "hostflow_exporter_render_duration_seconds" {r = $2}
           $1 == "hostflow_exporter_otlp_encode_duration_seconds" {e = $2} END {print r, e}' >> "$dir/otlp_samples"
    sleep 1
  done
else
  sleep "$CYCLE_WINDOW"
fi
[ -n "${PERF_EXPORTER:-}" ] && perf record -g -o "$PERF_EXPORTER" -p "$epid" -- sleep 5 >/dev/null 2>&1
[ -n "${PERF_SAMPLER:-}" ] && perf record -g -o "$PERF_SAMPLER" -p "$spid" -- sleep 5 >/dev/null 2>&1
g1=$(metric hostflow_snapshot_generation); c1=$(cpu_ns "$spid"); e1=$(cpu_ns "$epid")
cycles=$(( ${g1%.*} - ${g0%.*} ))
m=$(ip netns exec "$host" curl -s http://127.0.0.1:19473/metrics)
scrape=$( { ip netns exec "$host" curl -s -o /dev/null -w '%{time_total}' -H 'Accept-Encoding: gzip' http://127.0.0.1:19473/metrics; } )
echo "machine: $(nproc) cores, kernel $(uname -r)"
echo "NS=$NS namespaces x PER=$PER veth pairs = $((NS * PER)) pairs"
echo "exporter sees: host interfaces=$(grep -c '^hostflow_interface_info{' <<<"$m") containers=$(grep -c '^hostflow_container_info{' <<<"$m") attributed veths=$(grep -c '^hostflow_interface_info{.*owner_type="netns"' <<<"$m")"
for s in procs links docker; do
  echo "source $s: duration $(awk -v s="hostflow_source_duration_seconds{source=\"$s\"}" '$1 == s { printf "%.2f ms", $2 * 1000 }' <<<"$m") (wall, last cycle)"
done
echo "sampler CPU per cycle (links incl. $NS per-netns dumps + procs + nsid map): $(awk -v a="$c0" -v b="$c1" -v c="$cycles" 'BEGIN { printf "%.2f ms over %d cycles", (b - a) / c / 1e6, c }')"
echo "exporter render: $(awk '$1 == "hostflow_exporter_render_duration_seconds" { printf "%.2f ms", $2 * 1000 }' <<<"$m") (wall, last snapshot)"
echo "exporter CPU per snapshot (copy + model + attribution + render, all threads): $(awk -v a="$e0" -v b="$e1" -v c="$cycles" 'BEGIN { printf "%.2f ms", (b - a) / c / 1e6 }')"
echo "scrape (gzip, curl time_total): $(awk -v t="$scrape" 'BEGIN { printf "%.2f ms", t * 1000 }')"
echo "exposition: $(wc -c <<<"$m") bytes plain"
if [ -n "${OTLP:-}" ]; then
  med() { sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
  r=$(awk '{print $1}' "$dir/otlp_samples" | med); e=$(awk '$2 > 0 {print $2}' "$dir/otlp_samples" | med)
  echo "otlp push: encode (convert + protobuf + gzip) $(awk -v e="$e" 'BEGIN { printf "%.2f ms", e * 1000 }') median vs render $(awk -v r="$r" 'BEGIN { printf "%.2f ms", r * 1000 }') median = $(awk -v e="$e" -v r="$r" 'BEGIN { printf "%.0f %%", 100 * e / r }') of the render"
  echo "otlp pushes accepted: $(metric hostflow_exporter_otlp_exports_total), bytes sent: $(metric hostflow_exporter_otlp_sent_bytes_total), last request body (plain): $(ls -S "$dir"/otlp/req-*.bin | head -1 | xargs stat -c %s) bytes"
fi
echo "rss_kb: sampler=$(awk '/^VmRSS:/ {print $2}' /proc/$spid/status) exporter=$(awk '/^VmRSS:/ {print $2}' /proc/$epid/status)"
if [ -n "$COMPARE" ]; then
  cmp_wait_ready
  cmp_report
fi
