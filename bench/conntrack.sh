#!/usr/bin/env bash
# Conntrack benchmark (issue 6): N conntrack entries (UDP from distinct source addresses and ports,
# sent with a raw socket, LAB.md) in a private netns; then
#  - the sampler's conntrack source vs a bare libmnl count-only dump of the same table (medians of
#    ROUNDS rounds, side by side), and vs `conntrack -L` (hyperfine, same netns);
#  - the exporter's aggregation + threat matching: FLOWS flows, PREFIXES prefixes in 5 lists,
#    WORKLOADS workloads (synthetic, in-process).
# Needs root. Usage: bench/conntrack.sh [N] (default 200000)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$here/build-release}
N=${1:-200000}
ROUNDS=${ROUNDS:-7}
PREFIXES=${PREFIXES:-100000}
WORKLOADS=${WORKLOADS:-1000}
[ "$(id -u)" -eq 0 ] || { echo "bench/conntrack.sh: needs root" >&2; exit 1; }
command -v conntrack >/dev/null || { echo "install conntrack" >&2; exit 1; }
if [ ! -x "$BUILD/bench/hostflow-conntrack-bench" ]; then
  cmake -S "$here" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DHOSTFLOW_TESTS=OFF >/dev/null
  make -C "$BUILD" -j2 hostflow-conntrack-bench >/dev/null
fi
a="h6bca$$"; b="h6bcb$$"
old_max=$(cat /proc/sys/net/netfilter/nf_conntrack_max)
cleanup() {
  ip netns del "$a" 2>/dev/null || true
  ip netns del "$b" 2>/dev/null || true
  sysctl -qw net.netfilter.nf_conntrack_max="$old_max" || true
}
trap cleanup EXIT
# The table is shared by all namespaces: make room for N more entries while the bench runs.
sysctl -qw net.netfilter.nf_conntrack_max=$((old_max > N * 2 ? old_max : N * 2))
ip netns add "$a"; ip netns add "$b"
ip link add h6bca$$ netns "$a" type veth peer name h6bcb$$ netns "$b"
ip -n "$a" link set lo up; ip -n "$a" link set "h6bca$$" up; ip -n "$a" addr add 10.77.0.1/16 dev "h6bca$$"
ip -n "$b" link set lo up; ip -n "$b" link set "h6bcb$$" up; ip -n "$b" addr add 10.77.255.254/16 dev "h6bcb$$"
ip netns exec "$a" sysctl -qw net.netfilter.nf_conntrack_udp_timeout=600
ip netns exec "$a" nft 'table inet t { chain out { type filter hook output priority 0; ct state new,established accept; }; }'
t0=$(date +%s.%N)
ip netns exec "$a" python3 - "$N" <<'PY'
import socket, struct, sys
n = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
dst = socket.inet_aton("10.77.255.254")
for i in range(n):
    src = struct.pack("!I", (10 << 24) | (77 << 16) | (1 + i // 60000))
    sport = 1024 + i % 60000
    udp = struct.pack("!HHHH", sport, 9, 9, 0) + b"x"
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, src, dst)
    s.sendto(ip + udp, ("10.77.255.254", 0))
PY
t1=$(date +%s.%N)
have=$(ip netns exec "$a" conntrack -C 2>/dev/null || ip netns exec "$a" conntrack -L 2>/dev/null | wc -l)
echo "created $have entries in $(echo "$t1 - $t0" | bc) s"
echo "== sampler conntrack source vs bare libmnl count-only dump ($ROUNDS rounds)"
ip netns exec "$a" "$BUILD/bench/hostflow-conntrack-bench" dump "$ROUNDS"
echo "== conntrack -L (hyperfine)"
hyperfine -N --warmup 1 --runs "$ROUNDS" --export-json /tmp/h6-bench-ct.json \
  "ip netns exec $a conntrack -L -o extended" 2>/dev/null | grep -E 'Time|Range' || true
python3 -c "import json;d=json.load(open('/tmp/h6-bench-ct.json'));print('conntrack_L_median_s=%.4f'%d['results'][0]['median'])"
echo "== exporter aggregation + matching"
"$BUILD/bench/hostflow-conntrack-bench" match "$N" "$PREFIXES" "$WORKLOADS" "$ROUNDS"
