// Metric families of the HAProxy SNI feature (docs/metrics.md, "HAProxy"). Built by the tailer
// right after each checkpoint, never per scrape. hostflow-exporter.
#pragma once

#include "metrics/family.h"

#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "areas/haproxy/sni_table.h"

namespace hostflow::exporter {

// Reserved `sni` label values; none of them is a host name.
inline constexpr std::string_view kSniOther = "<other>";      // folded: not among the tracked
inline constexpr std::string_view kSniNone = "<none>";        // no SNI in the line
inline constexpr std::string_view kSniInvalid = "<invalid>";  // not a host name

struct SniFamiliesInput {
  const SniTable* table = nullptr;
  std::uint64_t lines = 0;
  std::vector<std::pair<std::string_view, std::uint64_t>> unparsed;  // by reason
  std::uint64_t rotations_rename = 0, rotations_truncate = 0, checkpoint_errors = 0;
};

void sni_families(const SniFamiliesInput& in, metrics::FamilySet* out);

}  // namespace hostflow::exporter
