#!/bin/bash
# Regenerates tests/fixtures/netlink/: real RTM_NEWLINK messages from this kernel plus the
# `ip -d -s -s -j link` view of the same namespace, taken at the same moment (nothing in the
# namespace sends packets on its own: IPv6 is off, so the counters stay still between the two).
#
#   sudo tests/tools/capture_netlink.sh BUILD_DIR/tests/tools/capture_netlink [OUT_DIR]
#
# Needs root, veth, bridge and ifb. Creates two namespaces named hfcap<pid>/hfcapp<pid> and
# removes them on exit, whatever happens.
set -euo pipefail

capture=${1:?usage: capture_netlink.sh CAPTURE_BINARY [OUT_DIR]}
out=${2:-$(cd "$(dirname "$0")/../fixtures/netlink" && pwd)}
capture=$(readlink -f "$capture")
ns=hfcap$$
peer=hfcapp$$

cleanup() {
  ip netns del "$ns" 2>/dev/null || true
  ip netns del "$peer" 2>/dev/null || true
}
trap cleanup EXIT

ip netns add "$ns"
ip netns add "$peer"
inx() { ip netns exec "$ns" "$@"; }
inp() { ip netns exec "$peer" "$@"; }
for n in "$ns" "$peer"; do
  ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done

inx ip link set lo up
# A bridge with one port whose veth peer lives in another namespace (IFLA_LINK_NETNSID set).
inx ip link add hfbr0 address 02:48:46:00:00:01 type bridge
inx ip link add hfport0 mtu 1400 address 02:48:46:00:00:02 type veth peer name hfpeer0 netns "$peer"
inx ip link set hfport0 master hfbr0
inx ip link set hfbr0 mtu 1400
# A veth pair inside the namespace (IFLA_LINK, no netnsid); one end stays down.
inx ip link add hfva mtu 1234 address 02:48:46:00:00:0a type veth peer name hfvb mtu 1234 \
  address 02:48:46:00:00:0b
inx ip link add hfifb0 mtu 9000 type ifb
inx ip addr add 10.250.0.1/24 dev hfbr0
inx ip addr add 10.251.0.1/24 dev hfva
for l in hfbr0 hfport0 hfva hfifb0; do inx ip link set "$l" up; done
inp ip link set lo up
inp ip link set hfpeer0 address 02:48:46:00:00:03 up
inp ip addr add 10.250.0.2/24 dev hfpeer0

# Wait for the bridge port to forward, then make traffic both ways.
for _ in $(seq 1 50); do
  inx ping -c1 -W1 10.250.0.2 >/dev/null 2>&1 && break
  sleep 0.2
done
inx ping -c 5 -i 0.2 -s 300 10.250.0.2 >/dev/null
inp ping -c 3 -i 0.2 -s 700 10.250.0.1 >/dev/null
inx ping -c 2 -i 0.2 -s 100 127.0.0.1 >/dev/null
sleep 0.5

mkdir -p "$out"
rm -f "$out"/*.bin
inx "$capture" "$out"
inx ip -d -s -s -j link show >"$out/ip-link.json"
# The same again: if any counter moved while we captured, say so instead of committing it.
inx ip -d -s -s -j link show >"$out/.ip-link-again.json"
if ! cmp -s "$out/ip-link.json" "$out/.ip-link-again.json"; then
  rm -f "$out/.ip-link-again.json"
  echo "counters moved during the capture; run again" >&2
  exit 1
fi
rm -f "$out/.ip-link-again.json"
ls -l "$out"
