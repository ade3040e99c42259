#include "areas/conntrack/threat_match.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <nlohmann/json.hpp>

namespace hostflow::exporter {

ThreatLog::~ThreatLog() {
  if (fd_ >= 0) ::close(fd_);
}

void ThreatLog::write(const std::string& line) {
  if (path_.empty()) return;
  struct stat st {};
  const bool exists = ::stat(path_.c_str(), &st) == 0;
  if (fd_ >= 0 && (!exists || st.st_ino != ino_ || st.st_dev != dev_)) {
    ::close(fd_);  // rotated or removed: continue in a new file at the path
    fd_ = -1;
  }
  if (fd_ < 0) {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0640);
    if (fd_ < 0 || ::fstat(fd_, &st) != 0) {
      errors_++;
      if (fd_ >= 0) ::close(fd_);
      fd_ = -1;
      return;
    }
    ino_ = st.st_ino;
    dev_ = st.st_dev;
  }
  const std::string l = line + "\n";
  // O_APPEND: one write() per line, so a concurrent reader never sees half a line.
  if (::write(fd_, l.data(), l.size()) != static_cast<ssize_t>(l.size())) errors_++;
}

namespace {
std::string rfc3339(double t) {
  const std::time_t s = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}
std::string proto_name(std::uint8_t p) {
  switch (p) {
    case IPPROTO_TCP:
      return "tcp";
    case IPPROTO_UDP:
      return "udp";
    case IPPROTO_ICMP:
      return "icmp";
    case IPPROTO_ICMPV6:
      return "icmpv6";
    case IPPROTO_SCTP:
      return "sctp";
    default:
      return std::to_string(p);
  }
}
}  // namespace

namespace {
std::uint64_t mix(std::uint64_t h, std::uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  return h * 0xbf58476d1ce4e5b9ull;
}
}  // namespace

std::vector<ThreatSeries> ThreatMatcher::update(std::span<const Flow> flows,
                                                std::span<const FlowEnd> ends,
                                                std::span<const WorkloadIps> workloads,
                                                const IpIndex& index,
                                                std::span<const ThreatList> lists,
                                                double now_seconds) {
  // Per workload, list and direction: contacts this interval.
  std::vector<std::uint64_t> active(workloads.size() * lists.size() * 2);
  std::vector<std::string> owners(workloads.size());
  std::vector<std::uint64_t> owner_hash(workloads.size());
  std::map<std::string, std::size_t> owner_index;
  for (std::size_t w = 0; w < workloads.size(); w++) {
    owners[w] = workloads[w].owner_type + "/" + workloads[w].owner;
    owner_hash[w] = std::hash<std::string>()(owners[w]);
    owner_index.emplace(owners[w], w);
  }
  std::vector<std::uint64_t> list_hash(lists.size());
  for (std::size_t l = 0; l < lists.size(); l++)
    list_hash[l] = std::hash<std::string>()(lists[l].name);
  // One lookup per remote answers for every list (rebuilt only when a list changed).
  bool same_sets = sets_.size() == lists.size();
  for (std::size_t l = 0; same_sets && l < lists.size(); l++) same_sets = sets_[l] == lists[l].set;
  if (!same_sets) {
    sets_.clear();
    std::vector<const PrefixSet*> raw;
    for (const ThreatList& l : lists) {
      sets_.push_back(l.set);
      raw.push_back(l.set.get());
    }
    merged_ = PrefixSets(raw);
  }
  const auto& ips = index.ips();
  // Every (flow, workload end, list) that matches, keyed by a 64-bit hash of (list,
  // owner_type/owner, direction, workload ip, remote ip); sorted below, so equal keys (one
  // contact seen in several flows) are counted once. (A collision would only hide one contact.)
  struct Hit {
    std::uint64_t key;
    std::uint32_t end;  // index into `ends`
    std::uint16_t list;
    bool out;
  };
  std::vector<Hit> hits;
  auto consider = [&](std::size_t k, int who, Direction dir, const IpAddr& remote) {
    const auto& e = ips[static_cast<std::size_t>(who)];
    const std::uint64_t in_lists = merged_.lookup(remote);
    if (in_lists == 0 && lists.size() <= PrefixSets::kMaxSets) return;
    for (std::size_t li = 0; li < lists.size(); li++) {
      const ThreatList& l = lists[li];
      if (l.direction != Direction::kAny && l.direction != dir) continue;
      if (li < PrefixSets::kMaxSets ? !(in_lists >> li & 1) : !l.set->contains(remote)) continue;
      std::uint64_t key =
          mix(mix(list_hash[li], owner_hash[e.workload]), static_cast<std::uint64_t>(dir));
      key = mix(key, IpAddrHash()(e.ip));
      key = mix(key, IpAddrHash()(remote));
      hits.push_back({key, static_cast<std::uint32_t>(k), static_cast<std::uint16_t>(li),
                      dir == Direction::kOut});
    }
  };
  if (!lists.empty()) {
    for (std::size_t k = 0; k < ends.size(); k++) {
      const FlowEnd& fe = ends[k];
      const Flow& f = flows[fe.flow];
      const int a = fe.src, b = fe.resp;
      // Both ends may be workloads (east-west): each sees the other as its remote. A workload
      // talking to itself has no remote.
      auto same = [&](int x, int y) {
        return x >= 0 && y >= 0 &&
               ips[static_cast<std::size_t>(x)].workload ==
                   ips[static_cast<std::size_t>(y)].workload;
      };
      if (a >= 0 && !same(a, fe.dst)) consider(k, a, Direction::kOut, f.dst);
      if (b >= 0 && b != a && !same(a, b)) consider(k, b, Direction::kIn, f.src);
    }
  }
  // Equal keys together, the first flow first (lists are few: indexes fit 16 bits).
  std::sort(hits.begin(), hits.end(), [](const Hit& x, const Hit& y) {
    return x.key < y.key || (x.key == y.key && x.end < y.end);
  });
  std::vector<std::uint64_t> cur;
  std::vector<const Hit*> fresh;  // contacts not seen in the previous interval
  for (std::size_t i = 0; i < hits.size(); i++) {
    const Hit& h = hits[i];
    if (i > 0 && hits[i - 1].key == h.key) continue;
    cur.push_back(h.key);
    const FlowEnd& fe = ends[h.end];
    const int who = h.out ? fe.src : fe.resp;
    const std::size_t wl = ips[static_cast<std::size_t>(who)].workload;
    active[(wl * lists.size() + h.list) * 2 + (h.out ? 0 : 1)]++;
    if (!std::binary_search(prev_.begin(), prev_.end(), h.key)) fresh.push_back(&h);
  }
  // New contacts in flow order: the totals, and one log line each.
  std::sort(fresh.begin(), fresh.end(), [](const Hit* x, const Hit* y) {
    if (x->end != y->end) return x->end < y->end;
    if (x->out != y->out) return x->out;  // as considered: outbound first
    return x->list < y->list;
  });
  for (const Hit* h : fresh) {
    const FlowEnd& fe = ends[h->end];
    const Flow& f = flows[fe.flow];
    const Direction dir = h->out ? Direction::kOut : Direction::kIn;
    const auto& e = ips[static_cast<std::size_t>(h->out ? fe.src : fe.resp)];
    const WorkloadIps& w = workloads[e.workload];
    const ThreatList& l = lists[h->list];
    totals_[{l.name, owners[e.workload], static_cast<int>(dir)}]++;
    if (log_.enabled()) {
      const bool out = h->out;
      const IpAddr& remote = out ? f.dst : f.src;
      nlohmann::json j = {
          {"time", rfc3339(now_seconds)},
          {"list", l.name},
          {"direction", std::string(direction_name(dir))},
          {"owner_type", w.owner_type},
          {"owner", w.owner},
          {"workload_ip", e.ip.str()},
          {"remote_ip", remote.str()},
          {"proto", proto_name(f.proto)},
          {"workload_port", out ? f.sport : f.dport},
          {"remote_port", out ? f.dport : f.sport},
      };
      log_.write(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    }
  }
  prev_ = std::move(cur);
  std::map<std::string, std::size_t> list_index;
  for (std::size_t l = 0; l < lists.size(); l++) list_index.emplace(lists[l].name, l);
  // Series: every (list, owner, direction) with a contact since start whose owner still exists.
  std::vector<ThreatSeries> out;
  for (auto it = totals_.begin(); it != totals_.end();) {
    const auto& [list, owner, dir] = it->first;
    auto w = owner_index.find(owner);
    if (w == owner_index.end()) {
      it = totals_.erase(it);  // the workload is gone: forget its counters
      continue;
    }
    ThreatSeries s{w->second, list, static_cast<Direction>(dir), 0, it->second};
    if (auto l = list_index.find(list); l != list_index.end())
      s.active = active[(w->second * lists.size() + l->second) * 2 +
                        (s.direction == Direction::kOut ? 0 : 1)];
    out.push_back(std::move(s));
    ++it;
  }
  return out;
}

bool is_private_address(const IpAddr& ip) {
  const std::uint8_t* b = ip.b;
  if (ip.family == 4) {
    return b[0] == 10 || b[0] == 127 || (b[0] == 172 && (b[1] & 0xf0) == 16) ||
           (b[0] == 192 && b[1] == 168) || (b[0] == 100 && (b[1] & 0xc0) == 64) ||
           (b[0] == 169 && b[1] == 254);
  }
  if (ip.family == 6) {
    static const std::uint8_t kLoop[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    return (b[0] & 0xfe) == 0xfc || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) ||
           std::memcmp(b, kLoop, 16) == 0;
  }
  return true;
}

std::vector<HostListed> match_host_addresses(const AddrTable& addrs,
                                             const std::map<std::int32_t, std::string>& ifnames,
                                             std::span<const ThreatList> lists,
                                             const HostThreatOptions& opts) {
  std::vector<HostListed> out;
  std::set<std::tuple<std::string, std::string, std::string>> seen;
  for (const NetAddr& a : addrs.addrs) {
    if (a.nsid >= 0) continue;  // the host's own addresses only
    const auto n = ifnames.find(a.ifindex);
    const std::string ifname = n == ifnames.end() ? "" : n->second;
    if (opts.interfaces.empty()) {
      if (ifname == "lo") continue;
    } else if (std::find(opts.interfaces.begin(), opts.interfaces.end(), ifname) ==
               opts.interfaces.end()) {
      continue;
    }
    if (!opts.allow_private && is_private_address(a.ip)) continue;
    for (const ThreatList& l : lists) {
      if (!l.set->contains(a.ip)) continue;
      if (!seen.emplace(l.name, a.ip.str(), ifname).second) continue;
      out.push_back({l.name, a.ip.str(), std::string(a.ip.family_label()), ifname});
    }
  }
  return out;
}

}  // namespace hostflow::exporter
