// What source factories get: the sampler's source options (from flags) and the objects sources
// share within one cycle (procs -> taps, links -> docker). Runs in hostflow-sampler.
#pragma once

#include <memory>

#include "sources/docker.h"
#include "sources/bpf.h"
#include "sources/conntrack.h"
#include "sources/libvirt.h"
#include "sources/links.h"
#include "sources/procs.h"

namespace hostflow::sampler {

struct SourceOptions {
  LibvirtOptions libvirt;
  DockerOptions docker;
  BpfOptions bpf;
  ConntrackOptions conntrack;
};

struct SourceContext {
  SourceOptions options;
  std::shared_ptr<ProcScan> proc_scan = std::make_shared<ProcScan>();
  std::shared_ptr<HostBridges> host_bridges = std::make_shared<HostBridges>();  // links -> docker
  std::shared_ptr<NetnsScan> netns_scan = std::make_shared<NetnsScan>();  // links -> addrs
};

}  // namespace hostflow::sampler
