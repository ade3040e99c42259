#include "identity/addresses.h"

#include <arpa/inet.h>
#include <sys/socket.h>

namespace hostflow::exporter {

std::string IpAddr::str() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family == 4)
    inet_ntop(AF_INET, b, buf, sizeof buf);
  else if (family == 6)
    inet_ntop(AF_INET6, b, buf, sizeof buf);
  return buf;
}

std::optional<IpAddr> IpAddr::parse(std::string_view text) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  char buf[INET6_ADDRSTRLEN];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = 0;
  IpAddr a;
  if (inet_pton(AF_INET, buf, a.b) == 1) {
    a.family = 4;
    return a;
  }
  if (inet_pton(AF_INET6, buf, a.b) == 1) {
    a.family = 6;
    return a;
  }
  return std::nullopt;
}

IpAddr IpAddr::from_raw(int af, const std::uint8_t* bytes) {
  IpAddr a;
  if (af == AF_INET) {
    a.family = 4;
    std::memcpy(a.b, bytes, 4);
  } else if (af == AF_INET6) {
    a.family = 6;
    std::memcpy(a.b, bytes, 16);
  }
  return a;
}

ConntrackTable build_conntrack(const shm::Snapshot& snap) {
  ConntrackTable t;
  const shm::SectionEntry* e = snap.section(shm::SectionType::kConntrack);
  if (!e) return t;
  t.present = true;
  t.dropped = e->dropped;
  const std::size_t n = snap.count<shm::ConntrackRecord>();
  t.flows.reserve(n);
  for (std::size_t i = 0; i < n; i++) {
    const shm::ConntrackRecord r = snap.record<shm::ConntrackRecord>(i);
    if (r.family != AF_INET && r.family != AF_INET6) {
      t.invalid++;
      continue;
    }
    Flow f;
    f.src = IpAddr::from_raw(r.family, r.orig_src);
    f.dst = IpAddr::from_raw(r.family, r.orig_dst);
    f.responder = IpAddr::from_raw(r.family, r.reply_src);
    f.sport = r.orig_sport;
    f.dport = r.orig_dport;
    f.proto = r.proto;
    t.flows.push_back(f);
  }
  return t;
}

AddrTable build_addrs(const shm::Snapshot& snap) {
  AddrTable t;
  if (!snap.section(shm::SectionType::kAddrs)) return t;
  t.present = true;
  for (const shm::AddrRecord& r : snap.records<shm::AddrRecord>()) {
    if (r.family != AF_INET && r.family != AF_INET6) continue;
    NetAddr a;
    a.ip = IpAddr::from_raw(r.family, r.address);
    a.prefixlen = r.prefixlen;
    a.scope = r.scope;
    a.netns = r.netns_inode;
    a.nsid = (r.present & shm::kAddrInOtherNetns) ? r.nsid : -1;
    a.ifindex = r.ifindex;
    t.addrs.push_back(a);
  }
  return t;
}

}  // namespace hostflow::exporter
