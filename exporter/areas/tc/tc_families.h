// Metric families of the TC counters (hostflow_tc_*), NetProbe's metrics under hostflow names
// (docs/metrics.md has the mapping). Host view: ingress = received by the interface, egress =
// sent. hostflow-exporter.
#pragma once

#include "metrics/family.h"

#include <vector>

#include "areas/tc/tc_model.h"
#include "identity/interfaces.h"

namespace hostflow::exporter {

struct TcRenderOptions {
  bool active_only = false;  // --tc.active-only: per-interface series only for active ones
};

// hostflow_tc_up: rendered whenever the snapshot has the bpf sections, fresh or not.
void tc_up_family(const Model& m, const TcModel& tc, bool fresh, metrics::FamilySet* out);
// Everything else; only for a fresh snapshot.
void tc_families(const TcModel& tc, const TcRenderOptions& o, metrics::FamilySet* out);

}  // namespace hostflow::exporter
