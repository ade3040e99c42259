#!/usr/bin/env bash
# The scale scenario of issue 17, all at once on one "host" (a bench netns), and what each exporter
# exposes for it:
#   - NS network namespaces x PER veth pairs (default 200 x 10 = 2,000), the host ends on bridges
#     in the host netns, one sleeping process per namespace in its own cgroup v2 leaf (as
#     bench/containers.sh); each namespace's first veth has an address on its bridge's /24;
#   - VMS QEMU guests (default 100) started paused by a real libvirtd (private mount namespace,
#     as tests/integration/vm_lab.h) with Nova metadata, each with a tap on a VM bridge;
#   - conntrack on in the host netns with FLOWS_PER_NS UDP flows from each namespace to the host
#     (default 25: 5,000 entries);
#   - hostflow: the sampler (default sources, libvirt on libvirtd's read-only socket, no Docker) and
#     the exporter, default flags, interval 5 s;
#   - prometheus-node-exporter twice: netdev collector only, and its default collectors;
#   - Debian's prometheus-libvirt-exporter on the same libvirtd (--libvirt.export-nova-metadata).
# For each side: series (sample lines of the exposition, comments excluded), bytes per scrape plain
# and gzip (on the wire, as Prometheus asks), scrape wall time (median / p90 / p99 of ROUNDS x
# SCRAPES keep-alive scrapes, the sides interleaved round by round) and the serving process's CPU
# per scrape (utime+stime over its scrapes; libvirtd's CPU in the libvirt exporter's scrapes too).
# hostflow "without owner labels": the same exposition with owner_type, owner and app removed from
# every hostflow_interface_* series by this script (hostflow has no flag for it); series stay the
# same, bytes are counted plain and with gzip -6 (its own exposition is measured with gzip -6 too
# for the ratio).
#
# Needs root (netns, bridges, libvirtd, QEMU, conntrack), and qemu-system-x86, libvirt-daemon,
# libvirt-daemon-driver-qemu, libvirt-clients, prometheus-node-exporter,
# prometheus-libvirt-exporter, nftables, curl, python3. Usage:
#   bench/scale.sh [NS] [PER] [VMS]        default 200 10 100
#   BUILD=build-package ROUNDS=5 SCRAPES=20 bench/scale.sh
#   BIN=/tmp/c bench/scale.sh   binaries hostflow-sampler / hostflow-exporter from that directory
#   KEEP_EXPOSITIONS=DIR bench/scale.sh   keeps every side's exposition in DIR
#   SAMPLER_ARGS="--no-libvirt.interface-stats" bench/scale.sh   more sampler flags
# While it runs, /tmp/hostflow-heavy-bench exists (other benches on the machine wait for it).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$here/build-release}
NS=${1:-200}
PER=${2:-10}
VMS=${3:-100}
FLOWS_PER_NS=${FLOWS_PER_NS:-25}
ROUNDS=${ROUNDS:-5}
SCRAPES=${SCRAPES:-20}
CPU_WINDOW=${CPU_WINDOW:-30}
if [ "$(id -u)" -ne 0 ]; then
  echo "bench/scale.sh: needs root (network namespaces, bridges, a libvirtd with QEMU guests, conntrack)" >&2
  exit 1
fi
for c in qemu-system-x86_64 libvirtd virtlogd virsh prometheus-node-exporter prometheus-libvirt-exporter \
  nft curl python3 unshare nsenter setpriv gzip; do
  command -v "$c" >/dev/null || {
    echo "bench/scale.sh: $c missing; apt-get install qemu-system-x86 libvirt-daemon libvirt-daemon-driver-qemu" \
      "libvirt-clients prometheus-node-exporter prometheus-libvirt-exporter nftables curl python3 util-linux" >&2
    exit 1
  }
done
if [ -n "${BIN:-}" ]; then
  sampler=$BIN/hostflow-sampler exporter=$BIN/hostflow-exporter
else
  sampler=$BUILD/sampler/hostflow-sampler exporter=$BUILD/exporter/hostflow-exporter
  if [ ! -x "$sampler" ] || [ ! -x "$exporter" ]; then
    cmake -S "$here" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DHOSTFLOW_TESTS=OFF >/dev/null
    make -C "$BUILD" -j"$(nproc)" hostflow-sampler hostflow-exporter >/dev/null
  fi
fi
getent group hostflow >/dev/null || groupadd --system hostflow
getent passwd hostflow >/dev/null || useradd --system --gid hostflow --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin hostflow
# Debian's QEMU driver wants these (libvirt-daemon-system creates them); QEMU runs as root here.
getent group kvm >/dev/null || groupadd --system kvm
getent group libvirt-qemu >/dev/null || groupadd --system libvirt-qemu
getent passwd libvirt-qemu >/dev/null || useradd --system --no-create-home --home-dir /var/lib/libvirt --gid kvm --shell /usr/sbin/nologin libvirt-qemu
cg2=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/self/mounts)

host="hfsch$$"; dir=$(mktemp -d); pids=""; spids=""; qpids=""; vl=""; lvd=""
cgbase="$cg2/hfscale$$"
rw="qemu+unix:///system?socket=$dir/sock/libvirt-sock"
ro="qemu+unix:///system?socket=$dir/sock/libvirt-sock-ro"
heavy=/tmp/hostflow-heavy-bench
ports=(19481 19482 19483 19484)   # hostflow, node_exporter netdev, node_exporter defaults, libvirt exporter
cleanup() {
  set +e
  for p in $pids; do kill "$p" 2>/dev/null; done
  # The guests: killed by pid (every pid file in libvirtd's private /run/libvirt/qemu is ours, also
  # when interrupted while creating them); libvirtd sees them end and cleans up (taps, cgroups).
  [ -z "$lvd" ] && [ -s "$dir/libvirtd.pid" ] && lvd=$(cat "$dir/libvirtd.pid")
  [ -n "$vl" ] && qpids="$qpids $(nsenter -t "$vl" -m sh -c 'cat /run/libvirt/qemu/*.pid' 2>/dev/null | tr '\n' ' ')"
  for p in $qpids; do kill -9 "$p" 2>/dev/null; done
  if [ -n "$lvd" ]; then
    for _ in $(seq 60); do
      [ -z "$(virsh -c "$rw" list --name 2>/dev/null | grep -v '^$')" ] && break
      sleep 0.5
    done
    kill "$lvd" 2>/dev/null
  fi
  [ -n "$vl" ] && kill "$vl" 2>/dev/null
  for p in $spids; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  for i in $(seq 1 "$NS"); do ip netns del "hfsc$$-$i" 2>/dev/null; done
  ip netns del "$host" 2>/dev/null
  for d in "$cgbase"/*/; do rmdir "$d" 2>/dev/null; done
  rmdir "$cgbase" 2>/dev/null
  # libvirt's machine cgroups of our guests, if it left any.
  find /sys/fs/cgroup -depth -type d -name "*hfsc$$-*" -exec rmdir {} + 2>/dev/null
  rm -rf "$dir"
  rm -f "$heavy"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
echo "bench/scale.sh (pid $$): issue 17 scale scenario" > "$heavy"

ip netns add "$host"; ip -n "$host" link set lo up
mkdir -p "$cgbase"
chgrp hostflow "$dir"; chmod 0750 "$dir"
nbr=$(( (NS + 49) / 50 ))

# Conntrack in the host netns, before any traffic (LAB.md).
ip netns exec "$host" sysctl -qw net.netfilter.nf_conntrack_acct=1 net.netfilter.nf_conntrack_udp_timeout=600
ip netns exec "$host" nft -f - <<'NFT'
table inet hfscale {
  chain input { type filter hook input priority 0; ct state new,established accept; }
  chain output { type filter hook output priority 0; ct state new,established accept; }
}
NFT

echo "creating $NS namespaces x $PER veth pairs..."
t0=$(date +%s.%N)
{
  for b in $(seq 1 "$nbr"); do
    echo "link add hfsbr$b type bridge"; echo "link set hfsbr$b up"; echo "addr add 10.99.$b.1/24 dev hfsbr$b"
  done
  for i in $(seq 1 "$NS"); do
    for j in $(seq 1 "$PER"); do
      echo "link add h${i}v$j type veth peer name e$j netns hfsc$$-$i"
      echo "link set h${i}v$j master hfsbr$(( (i + 49) / 50 )) up"
    done
  done
} > "$dir/batch"
for i in $(seq 1 "$NS"); do ip netns add "hfsc$$-$i"; done
ip -n "$host" -batch "$dir/batch"
for i in $(seq 1 "$NS"); do
  b=$(( (i + 49) / 50 ))
  printf 'link set lo up\nlink set e1 up\naddr add 10.99.%d.%d/24 dev e1\n' "$b" $((10 + i)) | ip -n "hfsc$$-$i" -batch -
  mkdir -p "$cgbase/c$i"
  ip netns exec "hfsc$$-$i" sleep 100000 &   # ip netns exec execs: $! is sleep
  spids="$spids $!"
  echo $! > "$cgbase/c$i/cgroup.procs"
done
echo "  took $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"

echo "starting libvirtd and $VMS paused guests..."
t0=$(date +%s.%N)
mkdir -p "$dir/sock" "$dir/etc" /var/log/libvirt /var/run/libvirt /var/lib/libvirt
cp -a /etc/libvirt/. "$dir/etc/" 2>/dev/null || true
printf 'user = "root"\ngroup = "root"\n' > "$dir/etc/qemu.conf"
cat > "$dir/libvirtd.conf" <<EOF
listen_tls = 0
listen_tcp = 0
unix_sock_dir = "$dir/sock"
unix_sock_ro_perms = "0777"
unix_sock_rw_perms = "0700"
auth_unix_ro = "none"
auth_unix_rw = "none"
log_outputs = "3:file:$dir/libvirtd.log"
EOF
ip netns exec "$host" unshare -m --propagation private sh -c "mount --bind $dir/etc /etc/libvirt &&
  mount -t tmpfs -o mode=0755 hfvirt /run/libvirt && mkdir -p /var/lib/libvirt/qemu &&
  mount -t tmpfs -o mode=0751 hfvirt /var/lib/libvirt/qemu && exec virtlogd -d -p $dir/virtlogd.pid"
vl=$(cat "$dir/virtlogd.pid")
nsenter -t "$vl" -m -n libvirtd -d -f "$dir/libvirtd.conf" -p "$dir/libvirtd.pid"
for _ in $(seq 180); do virsh -c "$rw" version >/dev/null 2>&1 && break; sleep 0.5; done
lvd=$(cat "$dir/libvirtd.pid")
virsh -c "$rw" version >/dev/null || { echo "libvirtd did not answer" >&2; tail "$dir/libvirtd.log" >&2; exit 1; }
ip -n "$host" link add hfsvbr type bridge; ip -n "$host" link set hfsvbr up
for i in $(seq 1 "$VMS"); do
  u=$(printf 'bbbbbbbb-%04x-4000-8000-%012x' $(($$ % 65536)) "$i")
  cat > "$dir/dom$i.xml" <<EOF
<domain type='qemu'>
  <name>hfsc$$-$i</name><uuid>$u</uuid><memory unit='MiB'>64</memory><vcpu>1</vcpu>
  <metadata><nova:instance xmlns:nova='http://openstack.org/xmlns/libvirt/nova/1.1'><nova:name>vm-$i</nova:name><nova:flavor name='m1.small'><nova:memory>2048</nova:memory><nova:vcpus>1</nova:vcpus></nova:flavor><nova:owner><nova:user uuid='u$i'>user$i</nova:user><nova:project uuid='p$(( i % 10 ))'>proj$(( i % 10 ))</nova:project></nova:owner><nova:ports><nova:port uuid='port-$i'><nova:ip type='fixed' address='10.98.$(( i / 250 )).$(( i % 250 + 2 ))' ipVersion='4'/></nova:port></nova:ports></nova:instance></metadata>
  <os><type arch='x86_64'>hvm</type></os>
  <devices><interface type='bridge'><source bridge='hfsvbr'/><model type='virtio'/></interface></devices>
</domain>
EOF
  echo "create $dir/dom$i.xml --paused"
done > "$dir/virsh-create"
virsh -c "$rw" < "$dir/virsh-create" > "$dir/virsh-create.out" 2>&1 || true
for i in $(seq 1 "$VMS"); do
  p=$(nsenter -t "$vl" -m cat "/run/libvirt/qemu/hfsc$$-$i.pid" 2>/dev/null || true)
  [ -n "$p" ] && qpids="$qpids $p"
done
nq=$(wc -w <<<"$qpids")
echo "  $nq of $VMS guests running (paused), took $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
[ "$nq" -eq "$VMS" ] || { echo "not every guest started:" >&2; grep -i error "$dir/virsh-create.out" | head -5 >&2; }

echo "conntrack: $FLOWS_PER_NS UDP flows from each namespace to the host..."
for i in $(seq 1 "$NS"); do
  b=$(( (i + 49) / 50 ))
  # Each redirection opens a new socket: a new source port, a new conntrack entry.
  ip netns exec "hfsc$$-$i" bash -c "for k in \$(seq $FLOWS_PER_NS); do echo x > /dev/udp/10.99.$b.1/\$((5000 + k)); done" 2>/dev/null &
  fp="${fp:-} $!"
  if [ $(( i % 20 )) -eq 0 ] || [ "$i" -eq "$NS" ]; then wait $fp || true; fp=""; fi
done
sleep 1
echo "  host netns conntrack entries: $(ip netns exec "$host" cat /proc/sys/net/netfilter/nf_conntrack_count)"

# libvirtd on its own with the guests (no client polling it yet): its baseline CPU.
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
sleep 5
qticks() {  # utime + stime of all the guests' QEMU processes
  local f=() p
  for p in $qpids; do f+=("/proc/$p/stat"); done
  { cat "${f[@]}" 2>/dev/null || true; } | awk '{ s += $14 + $15 } END { print s + 0 }'
}
b0=$(ticks "$lvd"); q0=$(qticks); sleep 15; b1=$(ticks "$lvd"); q1=$(qticks)
libvirtd_idle=$(awk -v a="$b0" -v b="$b1" -v hz="$hz" 'BEGIN { printf "%.1f", (b - a) * 1000 / hz / 15 }')
qemu_idle=$(awk -v a="$q0" -v b="$q1" -v hz="$hz" 'BEGIN { printf "%.1f", (b - a) * 1000 / hz / 15 }')

# hostflow
ip netns exec "$host" "$sampler" --segment "$dir/segment" --libvirt.uri "$ro" \
  --docker.socket "$dir/no-docker.sock" --log.level warn ${SAMPLER_ARGS:-} 2> "$dir/sampler.log" &
spid=$!; pids="$pids $spid"
for _ in $(seq 100); do [ -e "$dir/segment" ] && break; sleep 0.1; done
install -d -o hostflow -g hostflow "$dir/state"
ip netns exec "$host" setpriv --reuid=hostflow --regid=hostflow --clear-groups --bounding-set=-all --inh-caps=-all -- \
  "$exporter" --segment "$dir/segment" --web.listen-address "127.0.0.1:${ports[0]}" --state.dir "$dir/state" --log.level warn &
epid=$!; pids="$pids $epid"
# The peers, in the same netns.
ip netns exec "$host" setpriv --reuid=nobody --regid=nogroup --clear-groups -- \
  prometheus-node-exporter --web.listen-address "127.0.0.1:${ports[1]}" --collector.disable-defaults --collector.netdev --log.level=warn 2> "$dir/node-netdev.log" &
npid=$!; pids="$pids $npid"
ip netns exec "$host" setpriv --reuid=nobody --regid=nogroup --clear-groups -- \
  prometheus-node-exporter --web.listen-address "127.0.0.1:${ports[2]}" --log.level=warn 2> "$dir/node-defaults.log" &
dpid=$!; pids="$pids $dpid"
ip netns exec "$host" prometheus-libvirt-exporter --web.listen-address "127.0.0.1:${ports[3]}" \
  --libvirt.uri "$ro" --libvirt.export-nova-metadata > "$dir/libvirt-exporter.log" 2>&1 &
lpid=$!; pids="$pids $lpid"

get() { ip netns exec "$host" curl -sf "http://127.0.0.1:$1/metrics"; }
metric() { get "${ports[0]}" | awk -v m="$1" '$1 == m {print $2}'; }
# Wait for a snapshot with every source's data (the libvirt source fetches each domain's XML once).
for _ in $(seq 150); do
  v=$(metric hostflow_host_active_vms || true)
  [ -n "$v" ] && [ "${v%.*}" -ge "$nq" ] && break
  sleep 0.2
done
sleep 6   # one more 5 s cycle, so every source has run twice
for p in "${ports[@]:1}"; do for _ in $(seq 100); do get "$p" >/dev/null 2>&1 && break; sleep 0.2; done; done

names=(hostflow node_exporter-netdev node_exporter-defaults libvirt-exporter)
srv=("$epid" "$npid" "$dpid" "$lpid")
ex=$dir/expo; mkdir -p "$ex"
for k in 0 1 2 3; do get "${ports[$k]}" > "$ex/${names[$k]}.prom"; done
# hostflow without the owner labels on interface series.
python3 - "$ex/hostflow.prom" "$ex/hostflow-no-owner.prom" <<'PY'
import re, sys
lab = re.compile(r'(owner_type|owner|app)="(?:[^"\\]|\\.)*"')
out = open(sys.argv[2], "w")
for line in open(sys.argv[1]):
    if line.startswith("hostflow_interface_") and "{" in line:
        name, rest = line.split("{", 1)
        labels, tail = rest.rsplit("}", 1)
        parts = re.findall(r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"', labels)
        parts = [p for p in parts if not lab.fullmatch(p)]
        line = name + "{" + ",".join(parts) + "}" + tail
    out.write(line)
PY
series() { grep -c -v -e '^#' -e '^$' "$1"; }

# Background CPU of hostflow (no scrapes): sampler per cycle, exporter per snapshot.
# Every process's utime+stime (comm, ticks), to say what else ran on the machine meanwhile.
allticks() {
  for f in /proc/[0-9]*/stat; do cat "$f" 2>/dev/null || true; echo; done |
    awk 'NF { i = index($0, ") "); split(substr($0, i + 2), a, " "); c = substr($0, index($0, "(") + 1, i - index($0, "(") - 1);
              gsub(/ /, "_", c); print $1, c, a[12] + a[13] }'
}
allticks > "$dir/all0"
g0=$(metric hostflow_snapshot_generation); s0=$(ticks "$spid"); e0=$(ticks "$epid"); l0=$(ticks "$lvd"); qq0=$(qticks)
sleep "$CPU_WINDOW"
g1=$(metric hostflow_snapshot_generation); s1=$(ticks "$spid"); e1=$(ticks "$epid"); l1=$(ticks "$lvd"); qq1=$(qticks)
allticks > "$dir/all1"
cycles=$(( ${g1%.*} - ${g0%.*} ))
busy=$(awk -v hz="$hz" -v w="$CPU_WINDOW" 'NR == FNR { t[$1] = $3; next }
    { d = $3 - ($1 in t ? t[$1] : 0); cpu[$2] += d } END { for (c in cpu) if (cpu[c] > 0) printf "%d %s\n", cpu[c] * 1000 / hz / w, c }' \
    "$dir/all0" "$dir/all1" | sort -rn | head -8 | awk '{ printf "%s%s %d ms/s", (NR > 1 ? ", " : ""), $2, $1 }')

# Scrapes: ROUNDS rounds, in each SCRAPES keep-alive gzip scrapes of each side in turn.
declare -A cpu lcpu
for k in 0 1 2 3; do cpu[$k]=0; lcpu[$k]=0; : > "$dir/t$k"; done
outs=(); for _ in $(seq "$SCRAPES"); do outs+=(-o /dev/null); done
for _ in $(seq "$ROUNDS"); do
  for k in 0 1 2 3; do
    urls=(); for _ in $(seq "$SCRAPES"); do urls+=("http://127.0.0.1:${ports[$k]}/metrics"); done
    a=$(ticks "${srv[$k]}"); la=$(ticks "$lvd")
    ip netns exec "$host" curl -s -H 'Accept-Encoding: gzip' -w '%{time_total} %{size_download}\n' "${outs[@]}" "${urls[@]}" >> "$dir/t$k"
    b=$(ticks "${srv[$k]}"); lb=$(ticks "$lvd")
    cpu[$k]=$(( cpu[$k] + b - a )); lcpu[$k]=$(( lcpu[$k] + lb - la ))
  done
done
q() { sort -g | awk -v p="$1" '{ v[NR] = $1 } END { i = int(NR * p + 0.999); if (i < 1) i = 1; printf "%.2f", v[i] * 1000 }'; }

echo
echo "machine: $(nproc) cores, $(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "CPU by process name during the background window (what else ran): $busy"
m=$ex/hostflow.prom
echo "scenario: $NS netns x $PER veths = $((NS * PER)) veth pairs on $nbr bridges, $nq paused QEMU guests (libvirtd, Nova metadata) on 1 bridge,"
echo "  host netns conntrack entries $(ip netns exec "$host" cat /proc/sys/net/netfilter/nf_conntrack_count), host netns links $(ip -n "$host" -o link | wc -l)"
echo "hostflow sees: interfaces=$(grep -c '^hostflow_interface_info{' "$m") containers/netns=$(grep -c '^hostflow_container_info{' "$m")" \
  "vms=$(awk '$1 == "hostflow_host_active_vms" {print $2}' "$m") vm_interfaces=$(grep -c '^hostflow_vm_interface_info{' "$m")" \
  "nova_instances=$(grep -c '^hostflow_openstack_instance_info{' "$m") conntrack_entries=$(awk '$1 == "hostflow_conntrack_entries" {print $2}' "$m")" \
  "conntrack_ip_flows=$(grep -c '^hostflow_conntrack_ip_flows{' "$m")"
echo "hostflow series by family group:"
grep -v -e '^#' -e '^$' "$m" | sed -E 's/[{ ].*//' | awk '{
    g = $1
    if (g ~ /^hostflow_interface_/) g = "hostflow_interface_*"
    else if (g ~ /^hostflow_container_/) g = "hostflow_container_*"
    else if (g ~ /^hostflow_(vm|openstack)_/) g = "hostflow_vm_* + openstack_*"
    else if (g ~ /^hostflow_(conntrack|outbound|workload|threat)_/) g = "conntrack/outbound/workload/threat"
    else if (g ~ /^hostflow_platform_/) g = "hostflow_platform_*"
    else g = "other"
    n[g]++ } END { for (g in n) printf "  %-40s %d\n", g, n[g] }' | sort
echo "hostflow background CPU (no scrapes, ${CPU_WINDOW} s, $cycles cycles at the default 5 s):" \
  "sampler $(awk -v a="$s0" -v b="$s1" -v c="$cycles" -v hz="$hz" 'BEGIN { printf "%.1f", (b - a) * 1000 / hz / c }') ms per cycle," \
  "exporter $(awk -v a="$e0" -v b="$e1" -v c="$cycles" -v hz="$hz" 'BEGIN { printf "%.1f", (b - a) * 1000 / hz / c }') ms per snapshot," \
  "libvirtd $(awk -v a="$l0" -v b="$l1" -v c="$cycles" -v hz="$hz" 'BEGIN { printf "%.1f", (b - a) * 1000 / hz / c }') ms per cycle" \
  "+ the guests' QEMU processes $(awk -v a="$qq0" -v b="$qq1" -v c="$cycles" -v hz="$hz" 'BEGIN { printf "%.1f", (b - a) * 1000 / hz / c }') ms per cycle" \
  "(before any client polled libvirtd: libvirtd $libvirtd_idle, QEMU processes $qemu_idle ms per second)"
echo
printf '%-34s %8s %12s %11s %12s %12s %12s %10s %18s\n' side series "plain B" "gzip B" "med ms" "p90 ms" "p99 ms" "CPU ms" "(+libvirtd ms)"
n=$((ROUNDS * SCRAPES))
for k in 0 1 2 3; do
  f=$ex/${names[$k]}.prom
  printf '%-34s %8d %12d %11d %12s %12s %12s %10s %18s\n' "${names[$k]}" "$(series "$f")" "$(wc -c < "$f")" \
    "$(awk '{ print $2 }' "$dir/t$k" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')" \
    "$(awk '{ print $1 }' "$dir/t$k" | q 0.5)" "$(awk '{ print $1 }' "$dir/t$k" | q 0.9)" "$(awk '{ print $1 }' "$dir/t$k" | q 0.99)" \
    "$(awk -v t="${cpu[$k]}" -v n="$n" -v hz="$hz" 'BEGIN { printf "%.2f", t * 1000 / hz / n }')" \
    "$(awk -v t="${lcpu[$k]}" -v n="$n" -v hz="$hz" 'BEGIN { printf "%.2f", t * 1000 / hz / n }')"
done
echo "(scrape wall: $ROUNDS rounds x $SCRAPES keep-alive gzip scrapes per side, interleaved; CPU = utime+stime of the serving process over its scrapes ÷ $n, 10 ms ticks;"
echo " hostflow's includes whatever snapshot it rendered meanwhile; libvirtd's CPU in the same windows in parentheses)"
echo
printf '%-34s %8s %12s %14s\n' "gzip -6 of the exposition" series "plain B" "gzip -6 B"
for f in hostflow hostflow-no-owner node_exporter-netdev node_exporter-defaults libvirt-exporter; do
  printf '%-34s %8d %12d %14d\n' "$f" "$(series "$ex/$f.prom")" "$(wc -c < "$ex/$f.prom")" "$(gzip -6 -c "$ex/$f.prom" | wc -c)"
done
echo "rss_kb: sampler=$(awk '/^VmRSS:/ {print $2}' /proc/$spid/status) exporter=$(awk '/^VmRSS:/ {print $2}' /proc/$epid/status)" \
  "node_exporter-netdev=$(awk '/^VmRSS:/ {print $2}' /proc/$npid/status) node_exporter-defaults=$(awk '/^VmRSS:/ {print $2}' /proc/$dpid/status)" \
  "libvirt-exporter=$(awk '/^VmRSS:/ {print $2}' /proc/$lpid/status) libvirtd=$(awk '/^VmRSS:/ {print $2}' /proc/$lvd/status)"
# What libvirtd spends per bulk stats call (virConnectGetAllDomainStats, as hostflow's libvirt
# source and the libvirt exporter ask), by stats group: 3 calls of `virsh domstats --GROUP` each.
echo "libvirtd CPU + the QEMU processes' CPU per virConnectGetAllDomainStats over $nq guests, by stats group (3 calls each, 10 ms ticks):"
line=""
for g in state cpu-total balloon vcpu interface block; do
  a=$(ticks "$lvd"); qa=$(qticks)
  for _ in 1 2 3; do virsh -c "$ro" domstats "--$g" > /dev/null; done
  b=$(ticks "$lvd"); qb=$(qticks)
  line+=$(awk -v g="$g" -v a="$a" -v b="$b" -v qa="$qa" -v qb="$qb" -v hz="$hz" \
    'BEGIN { printf " %s %.0f + %.0f ms,", g, (b - a) * 1000 / hz / 3, (qb - qa) * 1000 / hz / 3 }')
done
echo " ${line%,}"
if [ -n "${KEEP_EXPOSITIONS:-}" ]; then mkdir -p "$KEEP_EXPOSITIONS"; cp "$ex"/*.prom "$KEEP_EXPOSITIONS"/; fi
