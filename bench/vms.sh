#!/usr/bin/env bash
# VM-scale benchmark (issue 4): N paused QEMU processes, each holding a tap in a private netns,
# plus a libvirt test-driver node with N domains (Nova metadata). Measures the sampler's CPU time
# per cycle (links + procs + taps + libvirt; links sees only the bench netns), summed over all its
# threads, and the exporter's render time. Needs root. Usage:
#   bench/vms.sh [N]            default 100
#   BUILD=build-release CYCLE_WINDOW=20 bench/vms.sh 100
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$here/build-release}
N=${1:-100}
CYCLE_WINDOW=${CYCLE_WINDOW:-20}
[ "$(id -u)" -eq 0 ] || { echo "bench/vms.sh: needs root" >&2; exit 1; }
command -v qemu-system-x86_64 >/dev/null || { echo "install qemu-system-x86" >&2; exit 1; }
if [ ! -x "$BUILD/sampler/hostflow-sampler" ]; then
  cmake -S "$here" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DHOSTFLOW_TESTS=OFF >/dev/null
  make -C "$BUILD" -j"$(nproc)" hostflow-sampler hostflow-exporter >/dev/null
fi
getent group hostflow >/dev/null || groupadd --system hostflow
getent passwd hostflow >/dev/null || useradd --system --gid hostflow --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin hostflow

ns="hfbvm$$"; dir=$(mktemp -d); pids=""; qpids=""
cleanup() {
  for p in $pids $qpids; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
ip netns add "$ns"; ip -n "$ns" link set lo up
chgrp hostflow "$dir"; chmod 0750 "$dir"

# The libvirt test-driver node: N domains with Nova metadata.
{
  echo "<node><cpu><nodes>1</nodes><sockets>1</sockets><cores>2</cores><threads>1</threads><active>2</active><mhz>2000</mhz><model>i686</model><vendor>test</vendor></cpu><memory>8388608</memory>"
  for i in $(seq 1 "$N"); do
    u=$(printf '%08x-0000-4000-8000-%012x' "$i" "$i")
    echo "<domain type='test'><name>bench-$i</name><uuid>$u</uuid><metadata><nova:instance xmlns:nova='http://openstack.org/xmlns/libvirt/nova/1.1'><nova:name>vm-$i</nova:name><nova:flavor name='m1.small'><nova:memory>2048</nova:memory><nova:vcpus>1</nova:vcpus></nova:flavor><nova:owner><nova:user uuid='u$i'>user$i</nova:user><nova:project uuid='p$i'>proj$i</nova:project></nova:owner></nova:instance></metadata><memory>65536</memory><vcpu>1</vcpu><os><type arch='i686'>hvm</type></os></domain>"
  done
  echo "</node>"
} > "$dir/node.xml"

echo "starting $N paused QEMU processes with taps..."
t0=$(date +%s.%N)
for i in $(seq 1 "$N"); do
  u=$(printf 'aaaaaaaa-0000-4000-8000-%012x' "$i")
  ip netns exec "$ns" qemu-system-x86_64 -S -nodefaults -display none -m 16 \
    -netdev "tap,id=n0,ifname=bt$i,script=no,downscript=no" -device virtio-net-pci,netdev=n0 \
    -uuid "$u" -name "guest=qvm$i" -daemonize -pidfile "$dir/q$i.pid"
  qpids="$qpids $(cat "$dir/q$i.pid")"
done
echo "  took $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"

ip netns exec "$ns" "$BUILD/sampler/hostflow-sampler" --segment "$dir/segment" --interval 1s \
  --libvirt.uri "test://$dir/node.xml" --log.level warn &
spid=$!; pids="$pids $spid"
for _ in $(seq 100); do [ -e "$dir/segment" ] && break; sleep 0.1; done
ip netns exec "$ns" setpriv --reuid=hostflow --regid=hostflow --clear-groups --bounding-set=-all --inh-caps=-all -- \
  "$BUILD/exporter/hostflow-exporter" --segment "$dir/segment" --web.listen-address 127.0.0.1:19472 --log.level warn &
epid=$!; pids="$pids $epid"
metric() { ip netns exec "$ns" curl -s http://127.0.0.1:19472/metrics | awk -v m="$1" '$1 == m {print $2}'; }
cpu_ns() { local s=0; for t in /proc/"$1"/task/*/schedstat; do s=$((s + $(cut -d' ' -f1 "$t"))); done; echo "$s"; }
for _ in $(seq 100); do [ -n "$(metric hostflow_host_active_vms)" ] && break; sleep 0.2; done
sleep 3   # past the first cycles (domain XML fetched once per domain, then cached)
g0=$(metric hostflow_snapshot_generation); c0=$(cpu_ns "$spid")
sleep "$CYCLE_WINDOW"
g1=$(metric hostflow_snapshot_generation); c1=$(cpu_ns "$spid")
cycles=$(( ${g1%.*} - ${g0%.*} ))
m=$(ip netns exec "$ns" curl -s http://127.0.0.1:19472/metrics)
echo "machine: $(nproc) cores, kernel $(uname -r)"
echo "N=$N QEMU processes + $N libvirt test domains"
echo "exporter sees: vms=$(awk '$1 == "hostflow_host_active_vms" {print $2}' <<<"$m") vm_interfaces=$(grep -c '^hostflow_vm_interface_info{' <<<"$m") nova_instances=$(grep -c '^hostflow_openstack_instance_info{' <<<"$m")"
for s in procs taps libvirt; do
  echo "source $s: duration $(awk -v s="hostflow_source_duration_seconds{source=\"$s\"}" '$1 == s { printf "%.2f ms", $2 * 1000 }' <<<"$m") (wall, last cycle)"
done
echo "sampler CPU per cycle (links + procs + taps + libvirt, all threads): $(awk -v a="$c0" -v b="$c1" -v c="$cycles" 'BEGIN { printf "%.2f ms over %d cycles", (b - a) / c / 1e6, c }')"
echo "exporter render: $(awk '$1 == "hostflow_exporter_render_duration_seconds" { printf "%.2f ms", $2 * 1000 }' <<<"$m")"
echo "rss_kb: sampler=$(awk '/^VmRSS:/ {print $2}' /proc/$spid/status) exporter=$(awk '/^VmRSS:/ {print $2}' /proc/$epid/status)"
