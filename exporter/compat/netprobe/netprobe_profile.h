// Profile `netprobe`: NetProbe Metrics Exporter's netprobe_* families (seed 001,
// Haibara-Ai97/netprobe pkg/metrics/metrics.go), from hostflow's TC counters (hostflow_tc_*) and
// interface indexes (hostflow_interface_info). docs/compat.md#netprobe. hostflow-exporter, poll
// thread.
#pragma once

#include <memory>

#include "compat/profile.h"

namespace hostflow::exporter {

std::unique_ptr<Profile> make_netprobe_profile(const ExporterConfig& cfg);

// NetProbe's activity rule (InterfaceStats.HasActivity): more than 0.1 packets per second in
// either direction.
constexpr double kNetprobeActivePps = 0.1;

}  // namespace hostflow::exporter
