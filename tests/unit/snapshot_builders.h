// Records as the sampler's sources publish them, for tests that build a snapshot with more than
// one kind of record (golden_test, identity_test). Each builder returns the record and the caller
// adds it (b.add(r)), so a test can change a field first. Strings go into the builder's arena with
// the caps the sources use.
#pragma once

#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/if_arp.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <gtest/gtest.h>

#include "hostflow/shm/builder.h"
#include "hostflow/shm/layout.h"
#include "hostflow/shm/snapshot.h"
#include "segment_util.h"

namespace hostflow::test {

// An IPv4 or IPv6 address in text into the 16 bytes of a record, with its family.
inline void parse_ip(const char* text, std::uint8_t out[16], std::uint8_t* family) {
  std::memset(out, 0, 16);
  if (inet_pton(AF_INET, text, out) == 1) {
    *family = AF_INET;
  } else {
    EXPECT_EQ(inet_pton(AF_INET6, text, out), 1) << text;
    *family = AF_INET6;
  }
}

inline void set_mac(shm::LinkRecord& r, std::uint8_t last) {
  const std::uint8_t mac[6] = {0x02, 0x48, 0x46, 0x00, 0x01, last};
  std::memcpy(r.address, mac, 6);
  r.addr_len = 6;
}

// A link of namespace `netns` as the links source would publish it: an ethernet-type link, up
// with carrier, 64-bit counters (zero), no master and no peer. `kind` is the kernel's link kind
// ("" for a device without one).
inline shm::LinkRecord link_record(shm::SnapshotBuilder& b, std::uint64_t netns,
                                   std::string_view name, std::int32_t ifindex,
                                   std::string_view kind, std::uint8_t mac_last) {
  shm::LinkRecord r{};
  r.netns_inode = netns;
  r.ifindex = ifindex;
  r.link_netnsid = -1;
  r.mtu = 1500;
  r.if_flags = IFF_UP | IFF_BROADCAST | IFF_MULTICAST | IFF_RUNNING | IFF_LOWER_UP;
  r.if_type = ARPHRD_ETHER;
  r.operstate = IF_OPER_UP;
  r.present = shm::kLinkHasStats64 | shm::kLinkHasCarrier;
  r.carrier = 1;
  r.netnsid = -1;
  set_mac(r, mac_last);
  r.name = b.add_string(name, IFNAMSIZ);
  r.kind = b.add_string(kind, 32);
  return r;
}

// `r` becomes a port of the bridge with ifindex `master`.
inline void enslave(shm::SnapshotBuilder& b, shm::LinkRecord& r, std::int32_t master) {
  r.master_ifindex = master;
  r.present |= shm::kLinkHasMaster;
  r.slave_kind = b.add_string("bridge", 32);
}

// `r`'s peer is ifindex `peer_ifindex` in the namespace the sampler's netns knows as `nsid`.
inline void veth_peer(shm::LinkRecord& r, std::int32_t nsid, std::int32_t peer_ifindex) {
  r.link_ifindex = peer_ifindex;
  r.link_netnsid = nsid;
  r.present |= shm::kLinkHasLink | shm::kLinkHasLinkNetnsid;
}

// The same traffic counted from the other end of a veth.
inline shm::LinkStats swapped(shm::LinkStats s) {
  std::swap(s.rx_bytes, s.tx_bytes);
  std::swap(s.rx_packets, s.tx_packets);
  std::swap(s.rx_errors, s.tx_errors);
  std::swap(s.rx_dropped, s.tx_dropped);
  return s;
}

// An address of interface `ifindex`; `nsid` -1 for the sampler's own namespace.
inline shm::AddrRecord addr_record(const char* ip, std::uint8_t prefixlen, std::int32_t ifindex,
                                   std::uint64_t netns, std::int32_t nsid) {
  shm::AddrRecord a{};
  a.netns_inode = netns;
  a.nsid = nsid;
  a.ifindex = ifindex;
  parse_ip(ip, a.address, &a.family);
  a.prefixlen = prefixlen;
  a.scope = RT_SCOPE_UNIVERSE;
  if (nsid >= 0) a.present = shm::kAddrInOtherNetns;
  return a;
}

// A process: `cgroup` is the text of /proc/<pid>/cgroup ("" when not read), `cmdline` the NUL-
// separated /proc/<pid>/cmdline (QEMU only).
inline shm::ProcRecord proc_record(shm::SnapshotBuilder& b, std::int32_t pid, std::uint64_t netns,
                                   std::string_view comm, std::string_view cgroup,
                                   std::uint32_t flags, std::string_view cmdline = {}) {
  shm::ProcRecord p{};
  p.pid = pid;
  p.uid = 0;
  p.netns_inode = netns;
  p.comm = b.add_string(comm, 16);
  if (!cgroup.empty()) {
    p.cgroup = b.add_string(cgroup, 4096);
    flags |= shm::kProcHasCgroup;
  }
  if (!cmdline.empty()) p.cmdline = b.add_string(cmdline, 65536);
  p.flags = flags;
  return p;
}

// A network namespace the sampler saw processes in (`inode` 0: known only by its nsid).
inline shm::NetnsRecord netns_record(std::uint64_t inode, std::int32_t nsid, std::int32_t pid,
                                     std::uint32_t processes, std::uint32_t flags,
                                     std::uint32_t links) {
  shm::NetnsRecord r{};
  r.inode = inode;
  r.nsid = nsid;
  r.pid = pid;
  r.processes = processes;
  r.flags = flags;
  r.links = links;
  return r;
}

// A tun/tap fd of process `pid` whose fdinfo names `ifname` (the taps source).
inline shm::TapRecord tap_record(shm::SnapshotBuilder& b, std::int32_t pid, std::int32_t fd,
                                 std::uint64_t netns, std::string_view ifname) {
  shm::TapRecord t{};
  t.pid = pid;
  t.fd = fd;
  t.type = static_cast<std::uint8_t>(shm::TapType::kTun);
  t.netns_inode = netns;
  t.ifname = b.add_string(ifname, IFNAMSIZ);
  return t;
}

// A libvirt domain with its XML (no stats: param_count 0).
inline shm::DomainRecord domain_record(shm::SnapshotBuilder& b, std::string_view name,
                                       std::string_view uuid, std::int32_t id,
                                       std::string_view xml) {
  shm::DomainRecord d{};
  d.name = b.add_string(name, 256);
  d.uuid = b.add_string(uuid, 64);
  d.id = id;
  d.xml = b.add_string(xml, 1 << 20);
  return d;
}

// A Docker Engine API answer (HTTP 200) to `path`.
inline shm::DockerRecord docker_record(shm::SnapshotBuilder& b, shm::DockerQuery q,
                                       std::string_view path, std::string_view body) {
  shm::DockerRecord r{};
  r.query = static_cast<std::uint32_t>(q);
  r.http_status = 200;
  r.path = b.add_string(path, 256);
  r.body = b.add_string(body, 1 << 20);
  return r;
}

// What the builder holds, published into a segment and read back as the exporter reads it.
inline std::optional<shm::Snapshot> read_back(shm::SnapshotBuilder& b,
                                              std::uint64_t slot_size = 1u << 18) {
  SegmentBuf seg(slot_size);
  EXPECT_TRUE(seg.publish(b, 1)) << "the snapshot does not fit a slot of " << slot_size;
  std::string err;
  auto snap = read_segment(seg.data(), seg.size, &err);
  EXPECT_TRUE(snap) << err;
  return snap;
}

}  // namespace hostflow::test
