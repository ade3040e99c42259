// The conntrack and address sections of a snapshot, decoded for the exporter's features: flows
// (original tuple + the responder's address from the reply tuple) and interface addresses (host and
// workload namespaces). Pure: built from a validated Snapshot; records with an unknown family are
// skipped and counted. hostflow-exporter.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hostflow/shm/snapshot.h"

namespace hostflow::exporter {

// An IPv4 or IPv6 address (network byte order; IPv4 in the first 4 bytes, the rest zero).
struct IpAddr {
  std::uint8_t family = 0;  // 4 or 6; 0 = none
  std::uint8_t b[16] = {};
  bool operator==(const IpAddr& o) const {
    return family == o.family && std::memcmp(b, o.b, 16) == 0;
  }
  bool operator<(const IpAddr& o) const {
    if (family != o.family) return family < o.family;
    return std::memcmp(b, o.b, 16) < 0;
  }
  std::string str() const;                                    // inet_ntop text
  static std::optional<IpAddr> parse(std::string_view text);  // "10.0.0.1", "2001:db8::1"
  static IpAddr from_raw(int af, const std::uint8_t* bytes);  // AF_INET/AF_INET6
  std::string_view family_label() const { return family == 6 ? "ipv6" : "ipv4"; }
};

struct IpAddrHash {
  std::size_t operator()(const IpAddr& a) const {
    std::uint64_t x, y;
    std::memcpy(&x, a.b, 8);
    std::memcpy(&y, a.b + 8, 8);
    std::uint64_t h = (x ^ (y * 0x9e3779b97f4a7c15ull) ^ a.family) * 0xbf58476d1ce4e5b9ull;
    return static_cast<std::size_t>(h ^ (h >> 31));  // every bit depends on every byte
  }
};

// One conntrack entry as the features need it.
struct Flow {
  IpAddr src, dst;   // original direction: initiator -> destination as the initiator sent it
  IpAddr responder;  // reply tuple's source: the destination after DNAT (== dst without NAT)
  std::uint16_t sport = 0, dport = 0;
  std::uint8_t proto = 0;
};

struct ConntrackTable {
  bool present = false;  // the snapshot has a conntrack section
  std::vector<Flow> flows;
  std::uint64_t dropped = 0;  // entries the sampler could not publish (cap)
  std::uint64_t invalid = 0;  // records with an unknown family
};
ConntrackTable build_conntrack(const shm::Snapshot& snap);

struct NetAddr {
  IpAddr ip;
  std::uint8_t prefixlen = 0, scope = 0;
  std::uint64_t netns = 0;  // inode (0 = known only by nsid)
  std::int32_t nsid = -1;   // -1: the sampler's (host) netns
  std::int32_t ifindex = 0;
};
struct AddrTable {
  bool present = false;
  std::vector<NetAddr> addrs;
};
AddrTable build_addrs(const shm::Snapshot& snap);

}  // namespace hostflow::exporter
