// Area `tc`: the eBPF TC counters of the sampler's `bpf` source (hostflow_tc_*; the source and
// its flag are named `bpf`, the metrics `tc`, as NetProbe's users know them). Flag
// --tc.active-only. hostflow-exporter.
#pragma once

#include "areas/area.h"
#include "areas/tc/tc_families.h"

namespace hostflow::exporter {

using TcConfig = TcRenderOptions;

void add_tc_flags(CLI::App& app, ExporterConfig& cfg);
std::unique_ptr<Area> make_tc_area(const ExporterConfig& cfg);

}  // namespace hostflow::exporter
