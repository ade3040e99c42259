// The exporter's areas, one row each (areas/registry.cc). hostflow-exporter.
#pragma once

#include <span>

#include "areas/area.h"

namespace hostflow::exporter {

// In rendering order. The pipeline, the flags, the seccomp policy's needs and the docs test
// (tests/unit/areas_test.cc) all loop over it.
std::span<const AreaRow> area_table();

}  // namespace hostflow::exporter
