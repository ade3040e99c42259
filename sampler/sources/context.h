// What source factories get: the sampler's source options (from flags) and the objects sources
// share within one cycle (procs -> taps). Runs in hostflow-sampler.
#pragma once

#include <memory>

#include "sources/bpf.h"
#include "sources/libvirt.h"
#include "sources/procs.h"

namespace hostflow::sampler {

struct SourceOptions {
  LibvirtOptions libvirt;
  BpfOptions bpf;
};

struct SourceContext {
  SourceOptions options;
  std::shared_ptr<ProcScan> proc_scan = std::make_shared<ProcScan>();
};

}  // namespace hostflow::sampler
