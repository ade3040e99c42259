// Metric families rendered from the model. Names follow hostflow_<area>_<name>_<unit>; see
// docs/metrics.md. Interface counters are from the host kernel's view (like node_exporter).
#pragma once

#include <prometheus/metric_family.h>

#include <cstdint>
#include <vector>

#include "model/interfaces.h"
#include "model/vm_history.h"
#include "model/vms.h"
#include "render/container_families.h"
#include "render/tc_families.h"
#include "render/conntrack_families.h"
#include "render/vm_families.h"

namespace hostflow::exporter {

// Everything that changes once per snapshot. With `fresh` false only the sampler/freshness
// families are rendered: old per-interface data is not presented as current.
// What the snapshot families are rendered from: the model, and the VMs with their history.
struct RenderInput {
  const Model* model = nullptr;  // null: no snapshot read yet
  bool fresh = false;
  const std::vector<Vm>* vms = nullptr;
  const std::vector<VmDerived>* vm_derived = nullptr;
  const VmRenderOptions* vm_options = nullptr;
  const Attribution* attribution = nullptr;
  const ContainerRenderOptions* container_options = nullptr;
  const TcModel* tc = nullptr;  // the TC counters (bpf source), with their render options
  const TcRenderOptions* tc_options = nullptr;
  const ConntrackView* conntrack = nullptr;  // null: conntrack features not computed
};
std::vector<prometheus::MetricFamily> snapshot_families(const RenderInput& in);

struct ExporterCounters {
  double snapshot_age_seconds = -1;  // -1: no snapshot ever read
  std::uint64_t scrapes = 0;
  double render_seconds = 0;
  std::uint64_t reads_by_status[6] = {};  // indexed by ReadStatus
  std::uint64_t remaps = 0;
  std::uint64_t segment_truncations = 0;
  std::uint64_t vm_state_samples = 0;
  std::uint64_t http_rejected = 0, http_timeouts = 0, http_bad_requests = 0;
  std::uint64_t http_evicted = 0;
};

// The per-scrape tail.
std::vector<prometheus::MetricFamily> exporter_families(const ExporterCounters& c);

}  // namespace hostflow::exporter
