#include "sources/links.h"

#include "sources/netlink.h"

#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/net_namespace.h>
#include <linux/rtnetlink.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <unordered_map>
#include <vector>

namespace hostflow::sampler {
namespace {

std::string_view attr_string(const nlattr* a) {
  const auto* p = static_cast<const char*>(mnl_attr_get_payload(a));
  const std::size_t len = mnl_attr_get_payload_len(a);
  return std::string_view(p, strnlen(p, len));
}

bool attr_u32(const nlattr* a, std::uint32_t* v) {
  if (mnl_attr_get_payload_len(a) < sizeof(std::uint32_t)) return false;
  std::memcpy(v, mnl_attr_get_payload(a), sizeof *v);
  return true;
}

struct AttrTable {
  const nlattr* tb[IFLA_MAX + 1] = {};
};

int collect_attr(const nlattr* a, void* data) {
  auto* t = static_cast<AttrTable*>(data);
  const int type = mnl_attr_get_type(a);
  if (type >= 0 && type <= IFLA_MAX) t->tb[type] = a;
  return MNL_CB_OK;
}

struct InfoTable {
  const nlattr* tb[IFLA_INFO_MAX + 1] = {};
};

// Like mnl_attr_parse, but a malformed attribute is an error: libmnl's walk just stops there, so
// an attribute whose length runs past the message (or is shorter than its own header) would
// otherwise silently hide itself and everything after it. `end` is exact, not aligned up as
// mnl_nlmsg_get_payload_tail() is: that could read up to 3 bytes past an unpadded message.
bool walk_attrs(const char* at, const char* end, mnl_attr_cb_t cb, void* data) {
  while (at < end) {
    const auto* a = reinterpret_cast<const nlattr*>(at);
    if (!mnl_attr_ok(a, static_cast<int>(end - at))) return false;
    cb(a, data);
    at += MNL_ALIGN(a->nla_len);
  }
  return true;
}

int collect_info_attr(const nlattr* a, void* data) {
  auto* t = static_cast<InfoTable*>(data);
  const int type = mnl_attr_get_type(a);
  if (type >= 0 && type <= IFLA_INFO_MAX) t->tb[type] = a;
  return MNL_CB_OK;
}

}  // namespace

bool decode_link_message(const nlmsghdr* nlh, std::size_t len, DecodedLink* out, std::string* err) {
  if (!check_message(nlh, len, RTM_NEWLINK, sizeof(ifinfomsg), "RTM_NEWLINK", err)) return false;
  const auto* ifm = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
  *out = DecodedLink{};
  shm::LinkRecord& r = out->rec;
  r.ifindex = ifm->ifi_index;
  r.if_flags = ifm->ifi_flags;
  r.if_type = ifm->ifi_type;
  r.link_netnsid = -1;

  AttrTable t;
  if (!walk_attrs(static_cast<const char*>(mnl_nlmsg_get_payload_offset(nlh, sizeof(ifinfomsg))),
                  reinterpret_cast<const char*>(nlh) + nlh->nlmsg_len, collect_attr, &t)) {
    *err = "malformed attribute (length past the end of the message)";
    return false;
  }
  std::uint32_t v = 0;
  if (t.tb[IFLA_IFNAME]) out->name = attr_string(t.tb[IFLA_IFNAME]);
  if (t.tb[IFLA_MTU] && attr_u32(t.tb[IFLA_MTU], &v)) r.mtu = v;
  if (t.tb[IFLA_MASTER] && attr_u32(t.tb[IFLA_MASTER], &v)) {
    r.master_ifindex = static_cast<std::int32_t>(v);
    r.present |= shm::kLinkHasMaster;
  }
  if (t.tb[IFLA_LINK] && attr_u32(t.tb[IFLA_LINK], &v)) {
    r.link_ifindex = static_cast<std::int32_t>(v);
    r.present |= shm::kLinkHasLink;
  }
  if (t.tb[IFLA_LINK_NETNSID] && attr_u32(t.tb[IFLA_LINK_NETNSID], &v)) {
    r.link_netnsid = static_cast<std::int32_t>(v);
    r.present |= shm::kLinkHasLinkNetnsid;
  }
  if (t.tb[IFLA_OPERSTATE] && mnl_attr_get_payload_len(t.tb[IFLA_OPERSTATE]) >= 1) {
    r.operstate = mnl_attr_get_u8(t.tb[IFLA_OPERSTATE]);
  }
  if (t.tb[IFLA_CARRIER] && mnl_attr_get_payload_len(t.tb[IFLA_CARRIER]) >= 1) {
    r.carrier = mnl_attr_get_u8(t.tb[IFLA_CARRIER]);
    r.present |= shm::kLinkHasCarrier;
  }
  if (t.tb[IFLA_ADDRESS]) {
    const std::size_t n =
        std::min<std::size_t>(mnl_attr_get_payload_len(t.tb[IFLA_ADDRESS]), sizeof r.address);
    std::memcpy(r.address, mnl_attr_get_payload(t.tb[IFLA_ADDRESS]), n);
    r.addr_len = static_cast<std::uint8_t>(n);
  }
  if (t.tb[IFLA_STATS64]) {
    // Newer kernels append fields; older ones may send fewer. Copy what both sides know.
    const std::size_t n =
        std::min<std::size_t>(mnl_attr_get_payload_len(t.tb[IFLA_STATS64]), sizeof r.stats);
    std::memcpy(&r.stats, mnl_attr_get_payload(t.tb[IFLA_STATS64]), n);
    r.present |= shm::kLinkHasStats64;
  }
  if (t.tb[IFLA_LINKINFO]) {
    InfoTable it;
    const nlattr* li = t.tb[IFLA_LINKINFO];
    const auto* payload = static_cast<const char*>(mnl_attr_get_payload(li));
    if (!walk_attrs(payload, payload + mnl_attr_get_payload_len(li), collect_info_attr, &it)) {
      *err = "malformed attribute inside IFLA_LINKINFO";
      return false;
    }
    if (it.tb[IFLA_INFO_KIND]) out->kind = attr_string(it.tb[IFLA_INFO_KIND]);
    if (it.tb[IFLA_INFO_SLAVE_KIND]) out->slave_kind = attr_string(it.tb[IFLA_INFO_SLAVE_KIND]);
  }
  return true;
}

bool decode_stats_message(const nlmsghdr* nlh, std::size_t len, DecodedStats* out,
                          std::string* err) {
  if (!check_message(nlh, len, RTM_NEWSTATS, sizeof(if_stats_msg), "RTM_NEWSTATS", err))
    return false;
  const auto* ifsm = static_cast<const if_stats_msg*>(mnl_nlmsg_get_payload(nlh));
  *out = DecodedStats{};
  out->ifindex = static_cast<std::int32_t>(ifsm->ifindex);
  struct Found {
    const nlattr* link64 = nullptr;
  } f;
  if (!walk_attrs(
          static_cast<const char*>(mnl_nlmsg_get_payload_offset(nlh, sizeof(if_stats_msg))),
          reinterpret_cast<const char*>(nlh) + nlh->nlmsg_len,
          [](const nlattr* a, void* data) {
            if (mnl_attr_get_type(a) == IFLA_STATS_LINK_64) static_cast<Found*>(data)->link64 = a;
            return MNL_CB_OK;
          },
          &f)) {
    *err = "malformed attribute (length past the end of the message)";
    return false;
  }
  if (!f.link64) {
    *err = "RTM_NEWSTATS without IFLA_STATS_LINK_64";
    return false;
  }
  // As for IFLA_STATS64: copy what both sides know.
  const std::size_t n =
      std::min<std::size_t>(mnl_attr_get_payload_len(f.link64), sizeof out->stats);
  std::memcpy(&out->stats, mnl_attr_get_payload(f.link64), n);
  return true;
}

namespace {

class LinksSource final : public Source {
 public:
  LinksSource(std::shared_ptr<const ProcScan> scan, std::shared_ptr<HostBridges> bridges,
              std::shared_ptr<NetnsScan> netns)
      : scan_(std::move(scan)), bridges_(std::move(bridges)), netns_scan_(std::move(netns)) {}
  std::string_view name() const override { return "links"; }

  Result<void> open(const SamplerPaths& paths) override {
    sysfs_ = paths.sysfs;
    struct stat st {};
    const std::string ns = "/proc/self/ns/net";  // ours, whatever --path.procfs is
    if (::stat(ns.c_str(), &st) != 0) return Error::from_errno("stat " + ns);
    netns_inode_ = st.st_ino;
    nl_ = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
    if (!nl_) return Error::from_errno("netlink socket (NETLINK_ROUTE)");
    if (mnl_socket_bind(nl_, 0, MNL_SOCKET_AUTOPID) < 0) return Error::from_errno("netlink bind");
    int on = 1;
    // Ask for extended ACKs so a rejected request says why; harmless when unsupported.
    setsockopt(mnl_socket_get_fd(nl_), SOL_NETLINK, NETLINK_EXT_ACK, &on, sizeof on);
    buf_.resize(64 * 1024);  // >= 32 KiB so a dump batch of ~137 links fits one recv (LAB.md)
    // Link notifications of our netns (RTMGRP_LINK: no privilege needed). While none arrive,
    // the host's links are not re-dumped: only their counters are read (RTM_GETSTATS).
    mon_ = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (!mon_) return Error::from_errno("netlink socket (NETLINK_ROUTE, link notifications)");
    if (mnl_socket_bind(mon_, RTMGRP_LINK, MNL_SOCKET_AUTOPID) < 0)
      return Error::from_errno("netlink bind (RTMGRP_LINK)");
    return {};
  }

  ~LinksSource() override {
    if (nl_) mnl_socket_close(nl_);
    if (mon_) mnl_socket_close(mon_);
  }

  Result<std::size_t> collect(shm::SnapshotBuilder& out) override {
    // The sampler's own netns: the host's interfaces. A failure here fails the source.
    // links_/strings_ begin with the host's links (kept across cycles); the other namespaces'
    // follow and are dumped anew every cycle.
    if (auto r = host_links(); !r.ok()) return r.error();
    const std::size_t own = host_.count;
    if (bridges_) {
      bridges_->names.clear();
      for (std::size_t i = 0; i < own; i++) {
        if (strings_[i].kind == "bridge") bridges_->names.push_back(strings_[i].name);
      }
    }

    // Other network namespaces, by nsid: those our links point into (veth peers), and those of
    // processes (containers, VMs) that have an nsid here. Bounded; each dump is one request.
    std::map<std::int32_t, shm::NetnsRecord> by_nsid;
    std::vector<shm::NetnsRecord> unnumbered;
    for (std::size_t i = 0; i < own; i++) {
      const std::int32_t id = links_[i].link_netnsid;
      if (id >= 0 && by_nsid.size() < kMaxNetns)
        by_nsid.try_emplace(id, shm::NetnsRecord{0, id, 0, 0, 0, 0, 0});
    }
    if (scan_) {
      std::map<std::uint64_t, std::pair<int, std::uint32_t>> procs;  // inode -> (pid, count)
      for (const auto& p : scan_->procs) {
        if (p.netns == 0 || p.netns == netns_inode_) continue;
        auto [it, fresh] = procs.try_emplace(p.netns, p.pid, 0);
        it->second.second++;
      }
      for (const auto& [inode, pc] : procs) {
        if (by_nsid.size() + unnumbered.size() >= kMaxNetns) break;
        const std::int32_t id = nsid_of_pid(pc.first);
        shm::NetnsRecord rec{inode, id, pc.first, pc.second, 0, 0, 0};
        if (id < 0) {
          unnumbered.push_back(rec);
        } else {
          auto [it, fresh] = by_nsid.try_emplace(id, rec);
          if (!fresh) {
            it->second.inode = inode;
            it->second.pid = pc.first;
            it->second.processes = pc.second;
          }
        }
      }
    }
    std::size_t failed = 0;
    for (auto& [id, rec] : by_nsid) {
      const std::size_t before = links_.size();
      if (auto r = dump_netns(id, rec.inode); r.ok()) {
        rec.flags |= shm::kNetnsDumped;
        rec.links = static_cast<std::uint32_t>(links_.size() - before);
      } else {
        // A namespace that vanished meanwhile, or no CAP_NET_ADMIN: its links are skipped.
        links_.resize(before);
        strings_.resize(before);
        rec.flags |= shm::kNetnsDumpFailed;
        failed++;
      }
    }
    out.touch<shm::NetnsRecord>();
    if (netns_scan_) {
      netns_scan_->own_inode = netns_inode_;
      netns_scan_->namespaces.clear();
      for (const auto& [id, rec] : by_nsid)
        if (rec.flags & shm::kNetnsDumped) netns_scan_->namespaces.push_back({id, rec.inode});
    }
    for (const auto& [id, rec] : by_nsid) out.add(rec);
    for (const auto& rec : unnumbered) out.add(rec);

    out.touch<shm::LinkRecord>();
    std::size_t n = 0;
    for (std::size_t i = 0; i < links_.size(); i++) {
      shm::LinkRecord& r = links_[i];
      const Strings& s = strings_[i];
      r.name = out.add_string(s.name, IFNAMSIZ);
      r.kind = out.add_string(s.kind, 32);
      r.slave_kind = out.add_string(s.slave_kind, 32);
      if (out.add(r)) n++;
    }
    return n;
  }

 private:
  static constexpr std::size_t kMaxNetns = 4096;
  static constexpr int kFullDumpEvery = 60;
  static constexpr std::size_t kMaxLinksPerForeignNetns = 4096;

  struct Strings {
    std::string name, kind, slave_kind;
  };

  // The host's links with this cycle's counters. A full RTM_GETLINK dump (and the sysfs facts:
  // `device`, the macvtap's char device) when something changed: the first cycle, a link
  // notification, a lost notification (ENOBUFS), a set of ifindexes that no longer matches, or
  // every kFullDumpEvery cycles regardless. Otherwise one RTM_GETSTATS dump of the 64-bit
  // counters: the kernel fills no attributes, no IFLA_AF_SPEC and no peer nsid lookups
  // (bench/README.md: ~20 ms -> ~2 ms for 2,000 veths).
  Result<void> host_links() {
    bool full = !host_.valid || host_.cycles_since_full >= kFullDumpEvery;
    if (drain_notifications()) full = true;
    if (!full) {
      auto r = refresh_host_stats();
      if (!r.ok()) return r.error();
      full = !*r;
    }
    if (!full) {
      host_.cycles_since_full++;
      links_.resize(host_.count);
      strings_.resize(host_.count);
      return {};
    }
    links_.clear();
    strings_.clear();
    host_.valid = false;
    if (auto r = dump_netns(-1, netns_inode_); !r.ok()) return r;
    for (std::size_t i = 0; i < links_.size(); i++) {  // sysfs shows the sampler's own netns only
      shm::LinkRecord& r = links_[i];
      const Strings& s = strings_[i];
      if (s.kind.empty() && has_device(s.name)) r.present |= shm::kLinkHasDevice;
      if (s.kind == "macvtap") {
        if (auto dev = macvtap_dev(s.name, r.ifindex)) {
          r.tap_dev = *dev;
          r.present |= shm::kLinkHasTapDev;
        }
      }
    }
    host_.count = links_.size();
    host_.index.clear();
    for (std::size_t i = 0; i < host_.count; i++) host_.index.emplace(links_[i].ifindex, i);
    host_.valid = host_.index.size() == host_.count;  // duplicate ifindexes: dump again
    host_.cycles_since_full = 0;
    return {};
  }

  // Reads and discards pending link notifications; true when there were any (or some were lost).
  bool drain_notifications() {
    bool any = false;
    for (int reads = 0; reads < 4096; reads++) {  // bounded: a flood means "changed" anyway
      const ssize_t n = mnl_socket_recvfrom(mon_, buf_.data(), buf_.size());
      if (n > 0) {
        any = true;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == ENOBUFS) {  // the queue overflowed: something changed, unknown what
        any = true;
        continue;
      }
      return any;  // EAGAIN: drained
    }
    return true;
  }

  // One RTM_GETSTATS dump into the host's links (the first host_.count of links_). Ok(false) when
  // the kernel's set of ifindexes is not the cached one (a change raced the notification), or the
  // dump was interrupted.
  Result<bool> refresh_host_stats() {
    auto* nlh = mnl_nlmsg_put_header(buf_.data());
    nlh->nlmsg_type = RTM_GETSTATS;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    nlh->nlmsg_seq = ++seq_;
    auto* ifsm = static_cast<if_stats_msg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(if_stats_msg)));
    ifsm->family = AF_UNSPEC;
    ifsm->filter_mask = IFLA_STATS_FILTER_BIT(IFLA_STATS_LINK_64);
    std::size_t seen = 0;
    bool match = true, interrupted = false;
    seen_.assign(host_.count, 0);
    auto r = run_dump(
        nl_, nlh, buf_, "RTM_GETSTATS",
        [&](const nlmsghdr* msg, std::size_t left) {
          DecodedStats d;
          std::string err;
          if (!decode_stats_message(msg, left, &d, &err)) {
            decode_errors_++;
            match = false;
            return;
          }
          const auto it = host_.index.find(d.ifindex);
          if (it == host_.index.end() || seen_[it->second]) {
            match = false;
            return;
          }
          seen_[it->second] = 1;
          seen++;
          links_[it->second].stats = d.stats;
        },
        &interrupted);
    if (!r.ok()) return r.error();
    return match && !interrupted && seen == host_.count;
  }

  // Dumps one netns (nsid -1: our own) into links_/strings_. A dump the kernel marks
  // interrupted (links changed mid-dump) is retried once.
  Result<void> dump_netns(std::int32_t nsid, std::uint64_t inode) {
    const std::size_t base = links_.size();
    for (int attempt = 0;; attempt++) {
      links_.resize(base);
      strings_.resize(base);
      bool interrupted = false;
      if (auto r = dump(nsid, &interrupted); !r.ok()) return r;
      if (!interrupted || attempt == 1) break;
    }
    for (std::size_t i = base; i < links_.size(); i++) {
      links_[i].netns_inode = inode;
      if (nsid >= 0) {
        links_[i].netnsid = nsid;
        links_[i].present |= shm::kLinkInOtherNetns;
      }
    }
    return {};
  }

  // RTM_GETNSID for a process: the nsid its netns has in ours, or -1 (none assigned, or gone).
  std::int32_t nsid_of_pid(int pid) {
    auto* nlh = mnl_nlmsg_put_header(buf_.data());
    nlh->nlmsg_type = RTM_GETNSID;
    nlh->nlmsg_flags = NLM_F_REQUEST;
    nlh->nlmsg_seq = ++seq_;
    auto* g = static_cast<rtgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtgenmsg)));
    g->rtgen_family = AF_UNSPEC;
    mnl_attr_put_u32(nlh, NETNSA_PID, static_cast<std::uint32_t>(pid));
    if (mnl_socket_sendto(nl_, nlh, nlh->nlmsg_len) < 0) return -1;
    for (;;) {
      const ssize_t n = mnl_socket_recvfrom(nl_, buf_.data(), buf_.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return -1;
      }
      const auto* msg = reinterpret_cast<const nlmsghdr*>(buf_.data());
      int left = static_cast<int>(n);
      for (; mnl_nlmsg_ok(msg, left); msg = mnl_nlmsg_next(msg, &left)) {
        if (msg->nlmsg_seq != seq_) continue;
        if (msg->nlmsg_type == NLMSG_ERROR) return -1;
        if (msg->nlmsg_type != RTM_NEWNSID) continue;
        std::int32_t id = -1;
        const char* at =
            static_cast<const char*>(mnl_nlmsg_get_payload_offset(msg, sizeof(rtgenmsg)));
        const char* end = reinterpret_cast<const char*>(msg) + msg->nlmsg_len;
        while (at < end) {
          const auto* a = reinterpret_cast<const nlattr*>(at);
          if (!mnl_attr_ok(a, static_cast<int>(end - at))) break;
          if (mnl_attr_get_type(a) == NETNSA_NSID && mnl_attr_get_payload_len(a) >= 4)
            std::memcpy(&id, mnl_attr_get_payload(a), 4);
          at += MNL_ALIGN(a->nla_len);
        }
        return id;
      }
    }
  }

  bool has_device(const std::string& ifname) const {
    if (ifname.empty() || ifname.find('/') != std::string::npos || ifname == "." || ifname == "..")
      return false;
    const std::string p = sysfs_ + "/class/net/" + ifname + "/device";
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0;
  }

  // The character device of a macvtap: sysfs class/net/<name>/macvtap/tap<ifindex>/dev holds
  // "major:minor". QEMU holds an fd on /dev/tapN; its st_rdev is matched against this.
  std::optional<std::uint64_t> macvtap_dev(const std::string& ifname, int ifindex) const {
    if (ifname.empty() || ifname.find('/') != std::string::npos || ifname == "." || ifname == "..")
      return std::nullopt;
    const std::string p =
        sysfs_ + "/class/net/" + ifname + "/macvtap/tap" + std::to_string(ifindex) + "/dev";
    char buf[32];
    const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    const ssize_t n = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    if (n <= 0) return std::nullopt;
    buf[n] = 0;
    unsigned maj = 0, min = 0;
    if (std::sscanf(buf, "%u:%u", &maj, &min) != 2) return std::nullopt;
    return static_cast<std::uint64_t>(makedev(maj, min));
  }

  // One RTM_GETLINK dump: of our netns (nsid -1) or of the netns with that nsid
  // (IFLA_TARGET_NETNSID; the kernel requires CAP_NET_ADMIN over it).
  Result<void> dump(std::int32_t nsid, bool* interrupted) {
    auto* nlh = mnl_nlmsg_put_header(buf_.data());
    nlh->nlmsg_type = RTM_GETLINK;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    nlh->nlmsg_seq = ++seq_;
    auto* ifm = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
    ifm->ifi_family = AF_UNSPEC;
    if (nsid >= 0) mnl_attr_put_u32(nlh, IFLA_TARGET_NETNSID, static_cast<std::uint32_t>(nsid));
    const std::string what = nsid < 0 ? "RTM_GETLINK" : "RTM_GETLINK nsid " + std::to_string(nsid);
    const std::size_t cap = nsid < 0 ? SIZE_MAX : links_.size() + kMaxLinksPerForeignNetns;
    return run_dump(
        nl_, nlh, buf_, what,
        [&](const nlmsghdr* msg, std::size_t left) {
          DecodedLink d;
          std::string err;
          if (links_.size() < cap && decode_link_message(msg, left, &d, &err)) {
            links_.push_back(d.rec);
            strings_.push_back(
                Strings{std::string(d.name), std::string(d.kind), std::string(d.slave_kind)});
          } else {
            decode_errors_++;
          }
        },
        interrupted);
  }

  std::shared_ptr<const ProcScan> scan_;
  std::shared_ptr<HostBridges> bridges_;
  std::shared_ptr<NetnsScan> netns_scan_;
  mnl_socket* nl_ = nullptr;
  mnl_socket* mon_ = nullptr;  // RTMGRP_LINK notifications of our netns
  struct HostCache {
    bool valid = false;
    int cycles_since_full = 0;
    std::size_t count = 0;  // the host's links: the first `count` of links_ and strings_
    std::unordered_map<std::int32_t, std::size_t> index;  // ifindex -> position
  } host_;
  std::vector<char> seen_;
  std::vector<char> buf_;
  std::string sysfs_;
  std::uint64_t netns_inode_ = 0;
  std::uint32_t seq_ = 0;
  std::uint64_t decode_errors_ = 0;
  std::vector<shm::LinkRecord> links_;
  std::vector<Strings> strings_;
};

}  // namespace

std::unique_ptr<Source> make_links_source(std::shared_ptr<const ProcScan> scan,
                                          std::shared_ptr<HostBridges> bridges,
                                          std::shared_ptr<NetnsScan> netns) {
  return std::make_unique<LinksSource>(std::move(scan), std::move(bridges), std::move(netns));
}

}  // namespace hostflow::sampler
