#include "identity/interfaces.h"

#include <linux/if.h>
#include <linux/if_arp.h>

#include <algorithm>
#include <map>
#include <set>

#include "hostflow/common/sanitize.h"

namespace hostflow::exporter {

std::string_view operstate_name(std::uint8_t s) {
  switch (s) {
    case IF_OPER_UNKNOWN:
      return "unknown";
    case IF_OPER_NOTPRESENT:
      return "notpresent";
    case IF_OPER_DOWN:
      return "down";
    case IF_OPER_LOWERLAYERDOWN:
      return "lowerlayerdown";
    case IF_OPER_TESTING:
      return "testing";
    case IF_OPER_DORMANT:
      return "dormant";
    case IF_OPER_UP:
      return "up";
  }
  return "unknown";
}

std::string classify_kind(std::string_view k, std::uint16_t if_type, bool has_device) {
  // The kernel's own link kind first; names are never consulted here.
  static const std::set<std::string_view> kKnown = {
      "veth",  "bridge", "macvtap", "macvlan", "vxlan",       "vlan",  "ifb",       "bond",
      "dummy", "geneve", "gre",     "gretap",  "ipip",        "sit",   "wireguard", "ipvlan",
      "vrf",   "team",   "ip6tnl",  "ip6gre",  "openvswitch", "nlmon", "can",       "vcan"};
  if (k == "tun") return if_type == ARPHRD_ETHER ? "tap" : "tun";
  if (!k.empty()) return kKnown.count(k) ? std::string(k) : "other";
  if (if_type == ARPHRD_LOOPBACK) return "loopback";
  if (has_device) return "physical";
  return "unknown";
}

namespace {
std::string format_mac(const shm::LinkRecord& r) {
  if (r.addr_len == 0 || r.addr_len > sizeof r.address) return "";
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(r.addr_len * 3);
  for (std::uint8_t i = 0; i < r.addr_len; i++) {
    if (i) out += ':';
    out += kHex[r.address[i] >> 4];
    out += kHex[r.address[i] & 15];
  }
  return out;
}

std::string_view section_name(std::uint32_t t) {
  switch (static_cast<shm::SectionType>(t)) {
    case shm::SectionType::kArena:
      return "arena";
    case shm::SectionType::kSources:
      return "sources";
    case shm::SectionType::kLinks:
      return "links";
    case shm::SectionType::kProcs:
      return "procs";
    case shm::SectionType::kTaps:
      return "taps";
    case shm::SectionType::kDomains:
      return "domains";
    case shm::SectionType::kDomainParams:
      return "domain_params";
    case shm::SectionType::kNetns:
      return "netns";
    case shm::SectionType::kDocker:
      return "docker";
    case shm::SectionType::kBpfCounters:
      return "bpf_counters";
    case shm::SectionType::kBpfAttach:
      return "bpf_attach";
    case shm::SectionType::kConntrack:
      return "conntrack";
    case shm::SectionType::kAddrs:
      return "addrs";
    case shm::SectionType::kPlatform:
      return "platform";
    case shm::SectionType::kPlatformFilesystems:
      return "platform_filesystems";
    case shm::SectionType::kSamplerProcess:
      return "sampler_process";
    case shm::SectionType::kPlatformContainers:
      return "platform_containers";
    case shm::SectionType::kSamplerWake:
      return "sampler_wake";
  }
  return "unknown";
}
}  // namespace

Model build_model(const shm::Snapshot& snap) {
  Model m;
  m.generation = snap.generation();
  m.cycle = snap.slot().cycle;
  m.publish_mono_ns = snap.slot().publish_mono_ns;
  m.publish_real_ns = snap.slot().publish_real_ns;
  m.interval_ns = snap.file().interval_ns;
  m.sampler_start_real_ns = snap.file().sampler_start_real_ns;
  m.sampler_pid = snap.file().writer_pid;

  auto text = [&](shm::StrRef ref, std::size_t cap) {
    auto s = snap.str(ref);
    if (!s) {
      m.invalid_refs++;
      return std::string();
    }
    return sanitize_label(*s, cap);
  };

  const auto links = snap.records<shm::LinkRecord>();
  // (netns, ifindex) -> position, for master names and duplicate detection.
  std::map<std::pair<std::uint64_t, std::int32_t>, std::size_t> by_index;
  auto foreign = [](const shm::LinkRecord& r) { return (r.present & shm::kLinkInOtherNetns) != 0; };
  auto netns_key = [&](const shm::LinkRecord& r) -> std::uint64_t {
    if (!foreign(r) || r.netns_inode != 0) return r.netns_inode;
    return (1ull << 63) | static_cast<std::uint32_t>(r.netnsid);
  };
  // Only the host's interfaces (netnsid < 0) are exported as interface series (names repeat
  // across namespaces: every container has an eth0); the others serve joins. Each goes straight
  // into its own vector, reserved to its count: no vector of every link that is then split and
  // copied (at 200 x 10 that was 2 MB more at the exporter's peak, issue 13's RSS).
  auto host_side = [&](const shm::LinkRecord& r) { return !(foreign(r) && r.netnsid >= 0); };
  std::size_t n_host = 0;
  for (const auto& r : links) n_host += host_side(r) ? 1 : 0;
  m.interfaces.reserve(n_host);
  m.workload_interfaces.reserve(links.size() - n_host);
  // A position: an index into m.interfaces, or kWorkload | an index into m.workload_interfaces.
  constexpr std::size_t kWorkload = std::size_t{1} << 63;
  auto at = [&](std::size_t pos) -> Interface& {
    return (pos & kWorkload) ? m.workload_interfaces[pos & ~kWorkload] : m.interfaces[pos];
  };
  std::vector<std::size_t> order;  // positions in record order
  order.reserve(links.size());
  for (const auto& r : links) {
    const bool host = host_side(r);
    const std::size_t pos = host ? m.interfaces.size() : kWorkload | m.workload_interfaces.size();
    if (!by_index.emplace(std::make_pair(netns_key(r), r.ifindex), pos).second) {
      m.duplicate_links++;
      continue;
    }
    Interface i;
    i.netns = netns_key(r);
    i.netnsid = foreign(r) && r.netnsid >= 0 ? r.netnsid : -1;
    i.link_netnsid = (r.present & shm::kLinkHasLinkNetnsid) ? r.link_netnsid : -1;
    i.link_ifindex = (r.present & shm::kLinkHasLink) ? r.link_ifindex : 0;
    i.ifindex = r.ifindex;
    i.name = text(r.name, 64);
    if (i.name.empty()) i.name = "if" + std::to_string(r.ifindex);
    const std::string raw_kind = text(r.kind, 32);
    i.kind = classify_kind(raw_kind, r.if_type, r.present & shm::kLinkHasDevice);
    i.operstate = std::string(operstate_name(r.operstate));
    i.mac = format_mac(r);
    i.mtu = r.mtu;
    i.admin_up = r.if_flags & IFF_UP;
    i.has_stats = r.present & shm::kLinkHasStats64;
    i.stats = r.stats;
    if (r.present & shm::kLinkHasTapDev) i.tap_dev = r.tap_dev;
    (host ? m.interfaces : m.workload_interfaces).push_back(std::move(i));
    order.push_back(pos);
  }
  // Masters by index, after all links are known.
  for (const auto& r : links) {
    if (!(r.present & shm::kLinkHasMaster)) continue;
    auto self = by_index.find({netns_key(r), r.ifindex});
    auto master = by_index.find({netns_key(r), r.master_ifindex});
    if (self != by_index.end() && master != by_index.end() && self->second != master->second &&
        at(self->second).master.empty()) {
      at(self->second).master = at(master->second).name;
    }
  }
  // Names are unique within a netns in the kernel, but sanitising (invalid bytes become U+FFFD)
  // or a hostile snapshot can collide them: unique per netns by construction (ifindex suffix),
  // in record order.
  {
    std::map<std::uint64_t, std::vector<NamedObject>> by_netns;
    for (std::size_t pos : order) {
      Interface& i = at(pos);
      by_netns[i.netns].push_back({&i.name, static_cast<std::uint32_t>(i.ifindex)});
    }
    for (auto& [netns, objects] : by_netns) make_names_unique(objects);
  }
  auto by_netns_name = [](const Interface& a, const Interface& b) {
    return std::tie(a.netns, a.name) < std::tie(b.netns, b.name);
  };
  std::sort(m.interfaces.begin(), m.interfaces.end(), by_netns_name);
  std::sort(m.workload_interfaces.begin(), m.workload_interfaces.end(), by_netns_name);

  std::set<std::string> source_names;
  for (const auto& s : snap.records<shm::SourceStatusRecord>()) {
    SourceStatus st;
    st.name = text(s.name, 32);
    if (st.name.empty() || !source_names.insert(st.name).second) continue;
    const auto state = static_cast<shm::SourceState>(s.state);
    st.state = (s.state >= 1 && s.state <= 4) ? state : shm::SourceState::kFailed;
    st.last_error = text(s.last_error, 256);
    st.duration_ns = s.duration_ns;
    st.errors_total = s.errors_total;
    st.runs_total = s.runs_total;
    st.last_success_real_ns = s.last_success_real_ns;
    st.items = s.items;
    m.sources.push_back(std::move(st));
  }
  for (const auto& r : snap.records<shm::SamplerProcessRecord>()) {
    ProcessStats p;
    p.cpu_seconds = static_cast<double>(r.cpu_ns) / 1e9;
    p.resident_bytes = r.resident_bytes;
    p.virtual_bytes = r.virtual_bytes;
    p.open_fds = r.open_fds;
    p.max_fds = r.max_fds;
    p.start_time_seconds = static_cast<double>(r.start_real_ns) / 1e9;
    m.sampler_process = p;
    break;  // one record; a second would be a corrupt segment's
  }
  for (const auto& r : snap.records<shm::SamplerWakeRecord>()) {
    m.sampler_wake = r;
    break;  // likewise
  }
  for (auto t :
       {shm::SectionType::kLinks, shm::SectionType::kProcs, shm::SectionType::kTaps,
        shm::SectionType::kDomains, shm::SectionType::kDomainParams, shm::SectionType::kNetns,
        shm::SectionType::kDocker, shm::SectionType::kBpfCounters, shm::SectionType::kConntrack,
        shm::SectionType::kAddrs, shm::SectionType::kSources, shm::SectionType::kArena}) {
    if (const auto* e = snap.section(t)) {
      m.drops.push_back({std::string(section_name(e->type)), e->dropped});
    }
  }
  m.has_vm_sources =
      snap.section(shm::SectionType::kProcs) || snap.section(shm::SectionType::kDomains);
  return m;
}

}  // namespace hostflow::exporter
