#include "sources/conntrack.h"

#include "sources/netlink.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <CLI/CLI.hpp>
#include <cstring>
#include <vector>

namespace hostflow::sampler {

void add_flags(CLI::App& app, ConntrackOptions& opts) {
  app.add_option("--conntrack.max-entries", opts.max_entries,
                 "most conntrack entries published per cycle; the rest are counted as dropped")
      ->capture_default_str();
}

namespace {

// Walks attributes in [at, end); a malformed one is an error (libmnl's walk would stop silently).
template <class F>
bool walk(const void* begin, std::size_t len, F&& f) {
  const char* at = static_cast<const char*>(begin);
  const char* end = at + len;
  while (at < end) {
    const auto* a = reinterpret_cast<const nlattr*>(at);
    if (!mnl_attr_ok(a, static_cast<int>(end - at))) return false;
    if (!f(a)) return false;
    at += MNL_ALIGN(a->nla_len);
  }
  return true;
}

bool nested(const nlattr* a, auto&& f) {
  return walk(mnl_attr_get_payload(a), mnl_attr_get_payload_len(a), f);
}

bool be16(const nlattr* a, std::uint16_t* v) {
  if (mnl_attr_get_payload_len(a) < 2) return false;
  std::uint16_t x;
  std::memcpy(&x, mnl_attr_get_payload(a), 2);
  *v = ntohs(x);
  return true;
}
bool be32(const nlattr* a, std::uint32_t* v) {
  if (mnl_attr_get_payload_len(a) < 4) return false;
  std::uint32_t x;
  std::memcpy(&x, mnl_attr_get_payload(a), 4);
  *v = ntohl(x);
  return true;
}
bool be64(const nlattr* a, std::uint64_t* v) {
  if (mnl_attr_get_payload_len(a) < 8) return false;
  std::uint64_t x;
  std::memcpy(&x, mnl_attr_get_payload(a), 8);
  *v = be64toh(x);
  return true;
}
bool addr(const nlattr* a, std::size_t n, std::uint8_t* out) {
  if (mnl_attr_get_payload_len(a) < n) return false;
  std::memcpy(out, mnl_attr_get_payload(a), n);
  return true;
}

struct Tuple {
  std::uint8_t* src;
  std::uint8_t* dst;
  std::uint16_t* sport;
  std::uint16_t* dport;
  std::uint8_t* proto;  // null: not stored (reply tuple)
  int family = 0;       // AF_INET/AF_INET6 as seen in the tuple
  bool has_ip = false, has_proto = false;
};

bool decode_tuple(const nlattr* t, Tuple* tu) {
  return nested(t, [&](const nlattr* a) {
    switch (mnl_attr_get_type(a)) {
      case CTA_TUPLE_IP:
        return nested(a, [&](const nlattr* ip) {
          switch (mnl_attr_get_type(ip)) {
            case CTA_IP_V4_SRC:
              tu->family = AF_INET;
              tu->has_ip = true;
              return addr(ip, 4, tu->src);
            case CTA_IP_V4_DST:
              tu->family = AF_INET;
              return addr(ip, 4, tu->dst);
            case CTA_IP_V6_SRC:
              tu->family = AF_INET6;
              tu->has_ip = true;
              return addr(ip, 16, tu->src);
            case CTA_IP_V6_DST:
              tu->family = AF_INET6;
              return addr(ip, 16, tu->dst);
            default:
              return true;
          }
        });
      case CTA_TUPLE_PROTO:
        return nested(a, [&](const nlattr* p) {
          std::uint16_t v = 0;
          switch (mnl_attr_get_type(p)) {
            case CTA_PROTO_NUM:
              if (mnl_attr_get_payload_len(p) < 1) return false;
              tu->has_proto = true;
              if (tu->proto) *tu->proto = mnl_attr_get_u8(p);
              return true;
            case CTA_PROTO_SRC_PORT:
              return be16(p, tu->sport);
            case CTA_PROTO_DST_PORT:
              return be16(p, tu->dport);
            case CTA_PROTO_ICMP_ID:
            case CTA_PROTO_ICMPV6_ID:
              return be16(p, tu->sport);
            case CTA_PROTO_ICMP_TYPE:
            case CTA_PROTO_ICMPV6_TYPE:
              if (mnl_attr_get_payload_len(p) < 1) return false;
              v = static_cast<std::uint16_t>(mnl_attr_get_u8(p) << 8);
              *tu->dport = static_cast<std::uint16_t>((*tu->dport & 0xff) | v);
              return true;
            case CTA_PROTO_ICMP_CODE:
            case CTA_PROTO_ICMPV6_CODE:
              if (mnl_attr_get_payload_len(p) < 1) return false;
              *tu->dport = static_cast<std::uint16_t>((*tu->dport & 0xff00) | mnl_attr_get_u8(p));
              return true;
            default:
              return true;
          }
        });
      default:
        return true;
    }
  });
}

bool decode_counters(const nlattr* c, std::uint64_t* packets, std::uint64_t* bytes) {
  return nested(c, [&](const nlattr* a) {
    std::uint32_t v32 = 0;
    switch (mnl_attr_get_type(a)) {
      case CTA_COUNTERS_PACKETS:
        return be64(a, packets);
      case CTA_COUNTERS_BYTES:
        return be64(a, bytes);
      case CTA_COUNTERS32_PACKETS:
        if (!be32(a, &v32)) return false;
        *packets = v32;
        return true;
      case CTA_COUNTERS32_BYTES:
        if (!be32(a, &v32)) return false;
        *bytes = v32;
        return true;
      default:
        return true;
    }
  });
}

}  // namespace

bool decode_ct_message(const nlmsghdr* nlh, std::size_t len, shm::ConntrackRecord* out,
                       std::string* err) {
  if (!check_message(nlh, len, (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW, sizeof(nfgenmsg),
                     "IPCTNL_MSG_CT_NEW", err))
    return false;
  const auto* nfg = static_cast<const nfgenmsg*>(mnl_nlmsg_get_payload(nlh));
  *out = shm::ConntrackRecord{};
  shm::ConntrackRecord& r = *out;
  r.family = nfg->nfgen_family;
  if (r.family != AF_INET && r.family != AF_INET6) {
    *err = "conntrack family " + std::to_string(r.family) + " is neither IPv4 nor IPv6";
    return false;
  }
  Tuple orig{r.orig_src, r.orig_dst, &r.orig_sport, &r.orig_dport, &r.proto};
  Tuple reply{r.reply_src, r.reply_dst, &r.reply_sport, &r.reply_dport, nullptr};
  bool has_orig = false;
  const char* payload =
      static_cast<const char*>(mnl_nlmsg_get_payload_offset(nlh, sizeof(nfgenmsg)));
  const std::size_t plen =
      static_cast<std::size_t>(reinterpret_cast<const char*>(nlh) + nlh->nlmsg_len - payload);
  const bool ok = walk(payload, plen, [&](const nlattr* a) {
    switch (mnl_attr_get_type(a)) {
      case CTA_TUPLE_ORIG:
        has_orig = true;
        return decode_tuple(a, &orig);
      case CTA_TUPLE_REPLY:
        return decode_tuple(a, &reply);
      case CTA_STATUS:
        return be32(a, &r.status);
      case CTA_MARK:
        r.flags |= shm::kCtHasMark;
        return be32(a, &r.mark);
      case CTA_ZONE:
        r.flags |= shm::kCtHasZone;
        return be16(a, &r.zone);
      case CTA_COUNTERS_ORIG:
        r.flags |= shm::kCtHasCounters;
        return decode_counters(a, &r.orig_packets, &r.orig_bytes);
      case CTA_COUNTERS_REPLY:
        r.flags |= shm::kCtHasCounters;
        return decode_counters(a, &r.reply_packets, &r.reply_bytes);
      default:
        return true;
    }
  });
  if (!ok) {
    *err = "malformed conntrack attribute";
    return false;
  }
  if (!has_orig || !orig.has_ip || !orig.has_proto) {
    *err = "conntrack entry without an original tuple";
    return false;
  }
  if (orig.family != r.family || (reply.family != 0 && reply.family != r.family)) {
    *err = "conntrack tuple family differs from the message family";
    return false;
  }
  return true;
}

namespace {

class ConntrackSource final : public Source {
 public:
  explicit ConntrackSource(ConntrackOptions opts) : opts_(opts) {}
  ~ConntrackSource() override {
    if (nl_) mnl_socket_close(nl_);
  }
  std::string_view name() const override { return "conntrack"; }

  Result<void> open(const SamplerPaths&) override {
    auto nl = open_netlink(NETLINK_NETFILTER, "NETLINK_NETFILTER");
    if (!nl.ok()) return nl.error();
    nl_ = *nl;
    // The kernel fills dump batches up to ~32 KiB; a bigger buffer never truncates one (LAB.md).
    buf_.resize(64 * 1024);
    return {};
  }

  Result<std::size_t> collect(shm::SnapshotBuilder& out) override {
    out.touch<shm::ConntrackRecord>();
    auto* nlh = mnl_nlmsg_put_header(buf_.data());
    nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    nlh->nlmsg_seq = ++seq_;
    auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
    nfg->nfgen_family = AF_UNSPEC;  // IPv4 and IPv6 in one dump
    nfg->version = NFNETLINK_V0;
    nfg->res_id = 0;
    std::size_t added = 0;
    std::uint64_t dropped = 0;
    shm::ConntrackRecord rec;
    std::string err;
    auto r = run_dump(nl_, nlh, buf_, "ctnetlink dump", [&](const nlmsghdr* msg, std::size_t left) {
      if (added >= opts_.max_entries) {
        dropped++;  // the rest of the dump is read (and counted), never left in the socket
      } else if (!decode_ct_message(msg, left, &rec, &err)) {
        decode_errors_++;
      } else if (out.add(rec)) {
        added++;
      } else {
        dropped++;
      }
    });
    // An error here (ENOENT, EPROTONOSUPPORT) when this kernel or netns has no conntrack: absent.
    if (!r.ok()) return r.error();
    if (dropped) out.add_dropped(shm::SectionType::kConntrack, dropped);
    return added;
  }

 private:
  ConntrackOptions opts_;
  mnl_socket* nl_ = nullptr;
  std::vector<char> buf_;
  std::uint32_t seq_ = 0;
  std::uint64_t decode_errors_ = 0;
};

}  // namespace

std::unique_ptr<Source> make_conntrack_source(ConntrackOptions opts) {
  return std::make_unique<ConntrackSource>(opts);
}

}  // namespace hostflow::sampler
