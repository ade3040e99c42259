// Area `sampler`: the sampler's health and the snapshot being served (hostflow_build_info,
// hostflow_sampler_*, hostflow_snapshot_*, hostflow_source_*). No flags. hostflow-exporter.
#pragma once

#include "areas/area.h"

namespace hostflow::exporter {

std::unique_ptr<Area> make_sampler_area(const ExporterConfig& cfg);

}  // namespace hostflow::exporter
