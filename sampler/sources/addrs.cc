#include "sources/addrs.h"

#include "sources/netlink.h"

#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cstring>
#include <vector>

namespace hostflow::sampler {

bool decode_addr_message(const nlmsghdr* nlh, std::size_t len, shm::AddrRecord* out,
                         std::string* err) {
  if (!check_message(nlh, len, RTM_NEWADDR, sizeof(ifaddrmsg), "RTM_NEWADDR", err)) return false;
  const auto* ifa = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(nlh));
  *out = shm::AddrRecord{};
  shm::AddrRecord& r = *out;
  r.nsid = -1;
  r.family = ifa->ifa_family;
  r.prefixlen = ifa->ifa_prefixlen;
  r.scope = ifa->ifa_scope;
  r.ifindex = static_cast<std::int32_t>(ifa->ifa_index);
  r.ifa_flags = ifa->ifa_flags;
  const std::size_t alen = r.family == AF_INET ? 4 : r.family == AF_INET6 ? 16 : 0;
  if (alen == 0) {
    *err = "address family " + std::to_string(r.family) + " is neither IPv4 nor IPv6";
    return false;
  }
  if ((r.family == AF_INET && r.prefixlen > 32) || r.prefixlen > 128) {
    *err = "prefix length out of range";
    return false;
  }
  const nlattr* local = nullptr;
  const nlattr* address = nullptr;
  const char* at = static_cast<const char*>(mnl_nlmsg_get_payload_offset(nlh, sizeof(ifaddrmsg)));
  const char* end = reinterpret_cast<const char*>(nlh) + nlh->nlmsg_len;
  while (at < end) {
    const auto* a = reinterpret_cast<const nlattr*>(at);
    if (!mnl_attr_ok(a, static_cast<int>(end - at))) {
      *err = "malformed attribute (length past the end of the message)";
      return false;
    }
    switch (mnl_attr_get_type(a)) {
      case IFA_LOCAL:
        local = a;
        break;
      case IFA_ADDRESS:
        address = a;
        break;
      case IFA_FLAGS:
        if (mnl_attr_get_payload_len(a) >= 4) r.ifa_flags = mnl_attr_get_u32(a);
        break;
      default:
        break;
    }
    at += MNL_ALIGN(a->nla_len);
  }
  // IFA_LOCAL is the interface's own address on point-to-point links (IFA_ADDRESS the peer).
  const nlattr* use = local ? local : address;
  if (!use || mnl_attr_get_payload_len(use) < alen) {
    *err = "RTM_NEWADDR without an address";
    return false;
  }
  std::memcpy(r.address, mnl_attr_get_payload(use), alen);
  return true;
}

namespace {

class AddrsSource final : public Source {
 public:
  explicit AddrsSource(std::shared_ptr<const NetnsScan> netns) : netns_(std::move(netns)) {}
  ~AddrsSource() override {
    if (nl_) mnl_socket_close(nl_);
  }
  std::string_view name() const override { return "addrs"; }

  Result<void> open(const SamplerPaths&) override {
    auto nl = open_netlink(NETLINK_ROUTE, "NETLINK_ROUTE");
    if (!nl.ok()) return nl.error();
    nl_ = *nl;
    // Without strict checking the kernel ignores IFA_TARGET_NETNSID in a dump request and answers
    // with the sampler's own addresses: every namespace would look like the host.
    int on = 1;
    if (setsockopt(mnl_socket_get_fd(nl_), SOL_NETLINK, NETLINK_GET_STRICT_CHK, &on, sizeof on) !=
        0)
      return Error::from_errno("NETLINK_GET_STRICT_CHK");
    buf_.resize(64 * 1024);
    return {};
  }

  Result<std::size_t> collect(shm::SnapshotBuilder& out) override {
    out.touch<shm::AddrRecord>();
    added_ = 0;
    const std::uint64_t own = netns_ ? netns_->own_inode : 0;
    if (auto r = dump(out, -1, own); !r.ok()) return r.error();
    if (netns_) {
      std::size_t n = 0;
      for (const auto& ns : netns_->namespaces) {
        if (n++ >= kMaxNetns) break;
        // A namespace that vanished since links saw it: skipped, not a failure.
        (void)dump(out, ns.nsid, ns.inode);
      }
    }
    return added_;
  }

 private:
  static constexpr std::size_t kMaxNetns = 4096;
  static constexpr std::size_t kMaxAddrsPerNetns = 1024;

  Result<void> dump(shm::SnapshotBuilder& out, std::int32_t nsid, std::uint64_t inode) {
    auto* nlh = mnl_nlmsg_put_header(buf_.data());
    nlh->nlmsg_type = RTM_GETADDR;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    nlh->nlmsg_seq = ++seq_;
    auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
    ifa->ifa_family = AF_UNSPEC;
    if (nsid >= 0) mnl_attr_put_u32(nlh, IFA_TARGET_NETNSID, static_cast<std::uint32_t>(nsid));
    const std::string what = nsid < 0 ? "RTM_GETADDR" : "RTM_GETADDR nsid " + std::to_string(nsid);
    std::size_t taken = 0;
    shm::AddrRecord rec;
    std::string err;
    return run_dump(nl_, nlh, buf_, what, [&](const nlmsghdr* msg, std::size_t left) {
      if (taken >= kMaxAddrsPerNetns || !decode_addr_message(msg, left, &rec, &err)) return;
      rec.netns_inode = inode;
      if (nsid >= 0) {
        rec.nsid = nsid;
        rec.present |= shm::kAddrInOtherNetns;
      }
      taken++;
      if (out.add(rec)) added_++;
    });
  }

  std::shared_ptr<const NetnsScan> netns_;
  mnl_socket* nl_ = nullptr;
  std::vector<char> buf_;
  std::uint32_t seq_ = 0;
  std::size_t added_ = 0;
};

}  // namespace

std::unique_ptr<Source> make_addrs_source(std::shared_ptr<const NetnsScan> netns) {
  return std::make_unique<AddrsSource>(std::move(netns));
}

}  // namespace hostflow::sampler
