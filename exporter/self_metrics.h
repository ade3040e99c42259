// The exporter's own health, appended to every scrape (the per-scrape tail: snapshot age, scrape
// and read counts, HTTP errors, refused series). Small, so a scrape that renders it costs
// microseconds. hostflow-exporter, HTTP threads.
#pragma once

#include <cstdint>
#include <optional>

#include "hostflow/common/process_stats.h"
#include "metrics/family.h"
#include "outputs/outputs.h"

namespace hostflow::exporter {

struct ExporterCounters {
  double snapshot_age_seconds = -1;  // -1: no snapshot ever read
  std::uint64_t scrapes = 0;
  double render_seconds = 0;
  std::optional<ProcessStats> process;    // /proc/self at scrape time (none: unreadable)
  std::uint64_t reads_by_status[6] = {};  // indexed by ReadStatus
  std::uint64_t remaps = 0;
  std::uint64_t segment_truncations = 0;
  std::uint64_t vm_state_samples = 0;
  std::uint64_t http_rejected = 0, http_timeouts = 0, http_bad_requests = 0;
  std::uint64_t http_evicted = 0;
  std::uint64_t refused_series = 0;  // metrics::refused_series_total()
  OutputCounters outputs;            // --output.*: writes, pushes (only those enabled)
};

metrics::FamilySet self_families(const ExporterCounters& c);

}  // namespace hostflow::exporter
