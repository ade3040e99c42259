// The process_* families every Prometheus exporter serves about itself (client_golang's process
// collector: names, types and help as it has them), from a ProcessStats. The exporter's own go
// into the per-scrape tail as process_*; the sampler's, published in the segment, are served by
// the sampler area under hostflow_sampler_process_* (docs/metrics.md). hostflow-exporter.
#pragma once

#include <string_view>

#include "hostflow/common/process_stats.h"
#include "metrics/family.h"

namespace hostflow::exporter::metrics {

// Six families named `prefix` + cpu_seconds_total, resident_memory_bytes, virtual_memory_bytes,
// open_fds, max_fds, start_time_seconds; `whose` ends each help text ("" for the exporter).
void process_families(const ProcessStats& p, std::string_view prefix, std::string_view whose,
                      FamilySet& out);

}  // namespace hostflow::exporter::metrics
