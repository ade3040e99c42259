#include "sources/bpf_tc.h"

#include <bpf/libbpf.h>
#include <libmnl/libmnl.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cstring>

#include "sources/netlink.h"
#include "tc_counters.h"

namespace hostflow::sampler {

// ---- RTM_NEWTFILTER decoding --------------------------------------------------------------------

namespace {

// Walks attributes in [at, end); a malformed one is an error (libmnl's walk would stop silently).
template <class F>
bool walk(const char* at, const char* end, F&& f) {
  while (at < end) {
    const auto* a = reinterpret_cast<const nlattr*>(at);
    if (!mnl_attr_ok(a, static_cast<int>(end - at))) return false;
    f(a);
    at += MNL_ALIGN(a->nla_len);
  }
  return true;
}

std::string_view attr_str(const nlattr* a) {
  const auto* p = static_cast<const char*>(mnl_attr_get_payload(a));
  return std::string_view(p, strnlen(p, mnl_attr_get_payload_len(a)));
}

}  // namespace

bool decode_tc_filter(const nlmsghdr* nlh, std::size_t len, DecodedTcFilter* out,
                      std::string* err) {
  if (len < sizeof(nlmsghdr) || nlh->nlmsg_len < sizeof(nlmsghdr) || nlh->nlmsg_len > len) {
    *err = "truncated netlink message";
    return false;
  }
  if (nlh->nlmsg_type != RTM_NEWTFILTER) {
    *err = "not RTM_NEWTFILTER (type " + std::to_string(nlh->nlmsg_type) + ")";
    return false;
  }
  if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(tcmsg))) {
    *err = "RTM_NEWTFILTER shorter than struct tcmsg";
    return false;
  }
  const auto* t = static_cast<const tcmsg*>(mnl_nlmsg_get_payload(nlh));
  DecodedTcFilter f;
  f.ifindex = t->tcm_ifindex;
  f.parent = t->tcm_parent;
  f.handle = t->tcm_handle;
  f.priority = static_cast<std::uint16_t>(TC_H_MAJ(t->tcm_info) >> 16);
  f.protocol = static_cast<std::uint16_t>(TC_H_MIN(t->tcm_info));
  const char* at = static_cast<const char*>(mnl_nlmsg_get_payload_offset(nlh, sizeof(tcmsg)));
  const char* end = reinterpret_cast<const char*>(nlh) + nlh->nlmsg_len;
  const nlattr* options = nullptr;
  if (!walk(at, end, [&](const nlattr* a) {
        if (mnl_attr_get_type(a) == TCA_KIND) f.kind = attr_str(a);
        if (mnl_attr_get_type(a) == TCA_OPTIONS) options = a;
      })) {
    *err = "malformed attribute in RTM_NEWTFILTER";
    return false;
  }
  if (options && f.kind == "bpf") {
    const auto* p = static_cast<const char*>(mnl_attr_get_payload(options));
    if (!walk(p, p + mnl_attr_get_payload_len(options), [&](const nlattr* a) {
          if (mnl_attr_get_type(a) == TCA_BPF_NAME) f.bpf_name = attr_str(a);
          if (mnl_attr_get_type(a) == TCA_BPF_ID && mnl_attr_get_payload_len(a) >= 4)
            std::memcpy(&f.prog_id, mnl_attr_get_payload(a), 4);
        })) {
      *err = "malformed TCA_OPTIONS in RTM_NEWTFILTER";
      return false;
    }
  }
  *out = f;
  return true;
}

bool is_hostflow_filter(const DecodedTcFilter& f, bool ingress) {
  const std::string_view prog = ingress ? HF_TC_PROG_INGRESS : HF_TC_PROG_EGRESS;
  return f.kind == "bpf" && f.handle == HF_TC_HANDLE && f.priority == HF_TC_PRIORITY &&
         f.bpf_name.size() > prog.size() && f.bpf_name.substr(0, prog.size()) == prog &&
         f.bpf_name[prog.size()] == ':';
}

// ---- our filters --------------------------------------------------------------------------------

namespace {

bpf_tc_hook hook(std::int32_t ifindex, int dir) {
  bpf_tc_hook h{};
  h.sz = sizeof h;
  h.ifindex = ifindex;
  h.attach_point = dir == HF_TC_INGRESS ? BPF_TC_INGRESS : BPF_TC_EGRESS;
  return h;
}

// Our handle and priority (what identifies our filter to bpf_tc_attach/bpf_tc_detach).
bpf_tc_opts ours(int prog_fd = 0) {
  bpf_tc_opts o{};
  o.sz = sizeof o;
  o.prog_fd = prog_fd;
  o.handle = HF_TC_HANDLE;
  o.priority = HF_TC_PRIORITY;
  return o;
}

}  // namespace

TcFilters::~TcFilters() {
  if (nl_) mnl_socket_close(nl_);
}

Result<void> TcFilters::open() {
  nl_ = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
  if (!nl_) return Error::from_errno("bpf: netlink socket");
  if (mnl_socket_bind(nl_, 0, MNL_SOCKET_AUTOPID) < 0)
    return Error::from_errno("bpf: netlink bind");
  buf_.resize(MNL_SOCKET_BUFFER_SIZE);
  return {};
}

unsigned TcFilters::remove_stale(std::int32_t ifindex) {
  unsigned removed = 0;
  for (int d = 0; d < 2; d++) {
    bool found = false;
    dump(ifindex, d, [&](const DecodedTcFilter& f) {
      if (is_hostflow_filter(f, d == HF_TC_INGRESS)) found = true;
    });
    if (!found) continue;
    bpf_tc_hook h = hook(ifindex, d);
    bpf_tc_opts o = ours();
    if (bpf_tc_detach(&h, &o) == 0) removed++;
  }
  return removed;
}

template <class F>
void TcFilters::dump(std::int32_t ifindex, int dir, F&& f) {
  auto* nlh = mnl_nlmsg_put_header(buf_.data());
  nlh->nlmsg_type = RTM_GETTFILTER;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  nlh->nlmsg_seq = ++seq_;
  auto* t = static_cast<tcmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(tcmsg)));
  t->tcm_family = AF_UNSPEC;
  t->tcm_ifindex = ifindex;
  t->tcm_parent = TC_H_MAKE(TC_H_CLSACT, dir == HF_TC_INGRESS ? TC_H_MIN_INGRESS : TC_H_MIN_EGRESS);
  // A failed dump (no clsact on the interface, or it went away) lists no filter.
  (void)run_dump(nl_, nlh, buf_, "bpf: tc filter dump", [&](const nlmsghdr* msg, std::size_t left) {
    DecodedTcFilter d;
    std::string err;
    if (decode_tc_filter(msg, left, &d, &err)) f(d);
  });
}

int TcFilters::attach(std::int32_t ifindex, const int prog_fd[2]) {
  int err = 0;
  int done = 0;
  for (int d = 0; d < 2 && !err; d++) {
    bpf_tc_hook h = hook(ifindex, d);
    int e = bpf_tc_hook_create(&h);
    if (e != 0 && e != -EEXIST) {  // EEXIST: clsact is there (ours or another program's)
      err = -e;
      break;
    }
    bpf_tc_opts o = ours(prog_fd[d]);
    e = bpf_tc_attach(&h, &o);
    if (e != 0) {
      err = -e;
      break;
    }
    done++;
  }
  if (err && done) detach(ifindex);
  return err;
}

void TcFilters::detach(std::int32_t ifindex) {
  for (int d = 0; d < 2; d++) {
    bpf_tc_hook h = hook(ifindex, d);
    bpf_tc_opts o = ours();
    bpf_tc_detach(&h, &o);
  }
}

}  // namespace hostflow::sampler
