// bpf: exact per-interface packet and byte counts from hostflow's TC program
// (sampler/bpf/tc_counters.bpf.c). open() (privileged) loads the program, removes the filters an
// earlier hostflow run left behind (ours only: handle, priority and program name must all match,
// see tc_counters.h) and attaches to the selected interfaces of the sampler's netns. Every cycle
// (confined: CAP_NET_ADMIN + CAP_BPF, netlink and a few bpf(2) map commands) it attaches to new
// interfaces, forgets removed ones and reads the per-CPU maps with batch lookups into
// kBpfCounters (one record per selected interface) and kBpfAttach (one record). The destructor
// detaches every filter it attached. No BPF support or no privilege: the source is absent.
// The filters themselves (attach, detach, the RTM_GETTFILTER dump, stale cleanup) are in
// bpf_tc.h; this file loads the program and reads its maps. Runs in hostflow-sampler.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "hostflow/common/result.h"
#include "source.h"
#include "sources/bpf_tc.h"  // the TC filters (attach, detach, the RTM_NEWTFILTER decoder)

namespace CLI {
class App;
}

namespace hostflow::sampler {

struct BpfOptions {
  // --bpf.interfaces: comma-separated shell patterns; "!pattern" excludes. An interface is
  // selected when it matches an include (or there is none) and no exclude.
  std::string interfaces = "*";
  // --bpf.array-ifindexes: ifindexes below this are counted in the per-CPU array (fast path).
  std::uint32_t array_ifindexes = 4096;
};

// --bpf.interfaces and --bpf.array-ifindexes, into `opts`. Their values are checked by the
// source's open(), not at startup: a bad one makes the bpf source fail, not the sampler.
void add_flags(CLI::App& app, BpfOptions& opts);

// The parsed --bpf.interfaces patterns. Pure.
class InterfaceSelector {
 public:
  static Result<InterfaceSelector> parse(std::string_view spec);
  bool selected(std::string_view name) const;

 private:
  std::vector<std::string> include_, exclude_;
};

std::unique_ptr<Source> make_bpf_source(const BpfOptions& opts);

}  // namespace hostflow::sampler
