// bpf: exact per-interface packet and byte counts from hostflow's TC program
// (sampler/bpf/tc_counters.bpf.c). open() (privileged) loads the program, removes the filters an
// earlier hostflow run left behind (ours only: handle, priority and program name must all match,
// see tc_counters.h) and attaches to the selected interfaces of the sampler's netns. Every cycle
// (confined: CAP_NET_ADMIN + CAP_BPF, netlink and a few bpf(2) map commands) it attaches to new
// interfaces, forgets removed ones and reads the per-CPU maps with batch lookups into
// kBpfCounters (one record per selected interface) and kBpfAttach (one record). The destructor
// detaches every filter it attached. No BPF support or no privilege: the source is absent.
// Runs in hostflow-sampler.
#pragma once

#include <linux/netlink.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "hostflow/common/result.h"
#include "source.h"

namespace hostflow::sampler {

struct BpfOptions {
  // --bpf.interfaces: comma-separated shell patterns; "!pattern" excludes. An interface is
  // selected when it matches an include (or there is none) and no exclude.
  std::string interfaces = "*";
  // --bpf.array-ifindexes: ifindexes below this are counted in the per-CPU array (fast path).
  std::uint32_t array_ifindexes = 4096;
};

// The parsed --bpf.interfaces patterns. Pure.
class InterfaceSelector {
 public:
  static Result<InterfaceSelector> parse(std::string_view spec);
  bool selected(std::string_view name) const;

 private:
  std::vector<std::string> include_, exclude_;
};

// One RTM_NEWTFILTER message, decoded. The string views point into the message.
struct DecodedTcFilter {
  std::int32_t ifindex = 0;
  std::uint32_t parent = 0, handle = 0;
  std::uint16_t priority = 0, protocol = 0;  // from tcm_info (protocol in network order)
  std::string_view kind;                     // TCA_KIND ("bpf")
  std::string_view bpf_name;                 // TCA_OPTIONS/TCA_BPF_NAME ("hf_tc_ingress:[42]")
  std::uint32_t prog_id = 0;                 // TCA_OPTIONS/TCA_BPF_ID
};

// Pure: decodes one netlink message of `len` bytes (len >= nlh->nlmsg_len is checked). False with
// a reason for anything that is not a well-formed RTM_NEWTFILTER.
bool decode_tc_filter(const nlmsghdr* nlh, std::size_t len, DecodedTcFilter* out,
                      std::string* err);

// True when `f` is one of hostflow's TC filters for the hook of `ingress`: kind bpf, our handle
// and priority, and a program named HF_TC_PROG_INGRESS / HF_TC_PROG_EGRESS (libbpf names the
// filter "<program name>:[<id>]").
bool is_hostflow_filter(const DecodedTcFilter& f, bool ingress);

std::unique_ptr<Source> make_bpf_source(const BpfOptions& opts);

}  // namespace hostflow::sampler
