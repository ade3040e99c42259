// The facts sources hand each other within one cycle, all of them here. The collector runs the
// sources in the order of the table in registry.cc, so a fact is read after it was written in the
// same cycle -- unless its writer failed or is disabled: then a reader sees what the writer's last
// successful run left (or the empty start value) and must cope with that, never assume fresh.
// SourceContext (context.h) owns one of each and hands it to the factories. Runs in
// hostflow-sampler, on the collector's thread only (no locking).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hostflow::sampler {

// The processes of this cycle's /proc pass.
// Written by: procs, every successful collect() (cleared, then refilled; `cycle` incremented).
// Read by:    taps (QEMU pids: their fds), links (pids and netns inodes: which other namespaces
//             to dump).
// Reset:      cleared at the start of each successful procs run; a failed run leaves the last
//             one and does not increment `cycle`, which is how taps tells "no scan this cycle".
struct ProcScan {
  struct Proc {
    int pid;
    std::uint64_t netns;  // inode of /proc/<pid>/ns/net; 0 = unknown
    bool qemu;
  };
  std::vector<Proc> procs;
  std::uint64_t cycle = 0;  // increments on every successful scan
};

// The names of the host's bridges (links of kind "bridge" in the sampler's netns).
// Written by: links, every collect() whose dump of the sampler's netns succeeded.
// Read by:    docker (`br-<id12>` names give the Docker networks to inspect; ids come from the
//             kernel, never from Docker's answers).
// Reset:      cleared and refilled by that links run; a failed one leaves the last names.
struct HostBridges {
  std::vector<std::string> names;
};

// The other network namespaces links dumped this cycle (by nsid), and the sampler's own.
// Written by: links, every collect() whose dump of the sampler's netns succeeded.
// Read by:    addrs (dumps the addresses of exactly these namespaces, IFA_TARGET_NETNSID).
// Reset:      `namespaces` cleared and refilled by that links run (only the ones whose dump
//             succeeded); a failed one leaves the last list.
struct NetnsScan {
  struct Netns {
    std::int32_t nsid;
    std::uint64_t inode;  // 0 = known only by its nsid
  };
  std::vector<Netns> namespaces;
  std::uint64_t own_inode = 0;  // the sampler's netns
};

}  // namespace hostflow::sampler
