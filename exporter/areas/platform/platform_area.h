// Area `platform`: where the sampler runs (hostflow_platform_info{kind,virtualization}) and the
// host's own CPU time, memory, filesystems and process count, from the sampler's `platform`
// source (sections Platform, PlatformFilesystems). Seed 003's figures (cougz/metrics-exporters),
// named as node_exporter names them. No flags: what is read is the sampler's --platform.*.
// hostflow-exporter.
#pragma once

#include "areas/area.h"

namespace hostflow::exporter {

std::unique_ptr<Area> make_platform_area(const ExporterConfig& cfg);

}  // namespace hostflow::exporter
