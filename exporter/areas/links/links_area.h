// Area `links`: the host's network interfaces, their counters and owners (hostflow_interface_*).
// Interface counters are the host kernel's view (like node_exporter). No flags.
// hostflow-exporter.
#pragma once

#include "areas/area.h"

namespace hostflow::exporter {

std::unique_ptr<Area> make_links_area(const ExporterConfig& cfg);

}  // namespace hostflow::exporter
