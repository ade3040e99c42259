// What source factories get: the sampler's source options (each source's own flags, see its
// add_flags()) and the facts sources hand each other within one cycle (cycle_facts.h).
// Runs in hostflow-sampler.
#pragma once

#include <memory>

#include "sources/bpf.h"
#include "sources/conntrack.h"
#include "sources/cycle_facts.h"
#include "sources/docker.h"
#include "sources/libvirt.h"
#include "sources/platform.h"

namespace hostflow::sampler {

// One member per source that has flags, named by its stem.
struct SourceOptions {
  LibvirtOptions libvirt;
  DockerOptions docker;
  BpfOptions bpf;
  ConntrackOptions conntrack;
  PlatformOptions platform;
};

struct SourceContext {
  SourceOptions options;
  std::shared_ptr<ProcScan> proc_scan = std::make_shared<ProcScan>();  // procs -> taps, links
  std::shared_ptr<HostBridges> host_bridges = std::make_shared<HostBridges>();  // links -> docker
  std::shared_ptr<NetnsScan> netns_scan = std::make_shared<NetnsScan>();        // links -> addrs
};

}  // namespace hostflow::sampler
