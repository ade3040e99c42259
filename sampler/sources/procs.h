// procs: one pass over /proc per cycle. For every process: pid, uid, netns inode, comm; the raw
// cgroup file for processes outside the sampler's netns (container attribution) and for QEMU;
// the raw command line (bounded) of QEMU-like processes only. Nothing here is interpreted: the
// exporter parses cgroup paths and command lines. Needs CAP_SYS_PTRACE to stat other users'
// ns/net links. Runs in hostflow-sampler.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "source.h"
#include "sources/cycle_facts.h"

namespace hostflow::sampler {

inline constexpr std::size_t kMaxCmdlineBytes = 64 * 1024;
inline constexpr std::size_t kMaxCgroupBytes = 4 * 1024;
inline constexpr std::uint32_t kMaxProcs = 1u << 18;

// True for the comm of a QEMU/KVM process ("qemu-system-x86", "qemu-kvm", "kvm").
bool is_qemu_comm(std::string_view comm);

// Writes `scan` every cycle (cycle_facts.h).
std::unique_ptr<Source> make_procs_source(std::shared_ptr<ProcScan> scan);

}  // namespace hostflow::sampler
