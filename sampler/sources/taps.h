// taps: the tap devices QEMU-like processes hold open. For each QEMU pid that procs found: an fd
// on /dev/net/tun gives the interface name from /proc/<pid>/fdinfo/<fd> ("iff:"); an fd on
// /dev/tapN (macvtap) gives its device number (st_rdev), which the exporter matches against the
// macvtap links' sysfs device numbers (tapN names collide across netns). Needs CAP_SYS_PTRACE
// (fdinfo, readlink) and CAP_DAC_READ_SEARCH (listing another user's /proc/<pid>/fd).
// Runs in hostflow-sampler.
#pragma once

#include <memory>
#include <optional>
#include <string_view>

#include "source.h"
#include "sources/cycle_facts.h"

namespace hostflow::sampler {

inline constexpr std::size_t kMaxFdsPerProcess = 16384;

// Pure: the "iff:" value of a tun fd's fdinfo text (a valid interface name), or nullopt.
std::optional<std::string_view> parse_fdinfo_iff(std::string_view fdinfo);

// Pure: true for a link target "/dev/tap<digits>".
bool is_macvtap_path(std::string_view target);

// Reads the QEMU pids of `scan` (cycle_facts.h); fails the cycle when procs did not scan.
std::unique_ptr<Source> make_taps_source(std::shared_ptr<const ProcScan> scan);

}  // namespace hostflow::sampler
