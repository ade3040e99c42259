// The TC side of the bpf source: hostflow's two filters (ingress, egress) on the clsact hooks of
// an interface. Attach and detach go through libbpf's bpf_tc_* (rtnetlink tc requests); finding
// the filters an earlier, killed hostflow run left is an RTM_GETTFILTER dump over our own
// rtnetlink socket (run_dump, netlink.h), decoded by decode_tc_filter. Only our filters are ever
// removed (handle, priority and program name must all match, see tc_counters.h), and never the
// clsact qdisc (other programs' filters may live there). Needs CAP_NET_ADMIN; runs in
// hostflow-sampler, at open() (privileged) and every cycle under the final confinement.
#pragma once

#include <linux/netlink.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "hostflow/common/result.h"

struct mnl_socket;

namespace hostflow::sampler {

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
// a reason for anything that is not a well-formed RTM_NEWTFILTER. Fuzzed (fuzz_tc_filter).
bool decode_tc_filter(const nlmsghdr* nlh, std::size_t len, DecodedTcFilter* out, std::string* err);

// True when `f` is one of hostflow's TC filters for the hook of `ingress`: kind bpf, our handle
// and priority, and a program named HF_TC_PROG_INGRESS / HF_TC_PROG_EGRESS (libbpf names the
// filter "<program name>:[<id>]").
bool is_hostflow_filter(const DecodedTcFilter& f, bool ingress);

// Our filters on the interfaces of the sampler's netns. Not copyable; one thread.
class TcFilters {
 public:
  TcFilters() = default;
  TcFilters(const TcFilters&) = delete;
  TcFilters& operator=(const TcFilters&) = delete;
  ~TcFilters();

  // Opens the rtnetlink socket the filter dumps use. Privileged (at the source's open()).
  Result<void> open();

  // Removes the filters an earlier hostflow run left on `ifindex` (ours only); returns how many.
  // A hook that cannot be dumped (no clsact, interface gone) has none.
  unsigned remove_stale(std::int32_t ifindex);

  // Creates the clsact qdisc when missing and adds our filter running prog_fd[HF_TC_INGRESS] /
  // prog_fd[HF_TC_EGRESS] on each hook. 0, or the errno of the step that failed; then neither of
  // our filters stays on the interface.
  int attach(std::int32_t ifindex, const int prog_fd[2]);

  // Removes our two filters (never the clsact qdisc). Errors (the interface is gone) are ignored.
  void detach(std::int32_t ifindex);

 private:
  // RTM_GETTFILTER dump of one clsact hook; calls f(const DecodedTcFilter&) for each filter.
  // A failed dump calls it for none.
  template <class F>
  void dump(std::int32_t ifindex, int dir, F&& f);

  mnl_socket* nl_ = nullptr;
  std::vector<char> buf_;
  std::uint32_t seq_ = 0;
};

}  // namespace hostflow::sampler
