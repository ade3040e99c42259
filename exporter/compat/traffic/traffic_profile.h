// Profile `traffic`: the Traffic Exporter's haproxy_sni_* and qemu_network_* families (seed 000,
// Leechael/dstack-traffic-exporter main.go), all gauges as it emits them. docs/compat.md#traffic.
//  - haproxy_sni_{connections,total_bytes,zero_bytes}{sni}: hostflow_haproxy_sni_* as they are
//    (hostflow's bounded, normalised SNI values; "<none>" is the seed's "-"); exact with
//    --haproxy.format=sni-marker.
//  - qemu_network_{total,30s,1min,5min,15min,1h}_bytes{uuid,direction}: per VM, not the host's
//    /proc/<pid>/net/dev the seed sums. uuid = the seed's id (run/vm/<id>, else CID-<n>, from
//    hostflow_vm_cmdline_info); rx/tx = the VM's received/sent bytes
//    (hostflow_vm_network_{receive,transmit}_bytes_total). The windows are the seed's rule
//    (calculateBytesInWindow) over this profile's own history of those totals.
// hostflow-exporter, poll thread (emit and reset).
#pragma once

#include <cstdint>
#include <memory>

#include "compat/profile.h"

namespace hostflow::exporter {

std::unique_ptr<Profile> make_traffic_profile(const ExporterConfig& cfg);

// The history's bounds: a new sample is kept once the newest is this much newer than the one
// before it (the seed's default -qemu-monitor-interval; the newest always moves to now), and
// samples older than an hour are dropped (the seed's cleanOldSnapshots).
inline constexpr std::uint64_t kTrafficSampleSpacingNs = 5'000'000'000ull;
inline constexpr std::uint64_t kTrafficKeepNs = 3600'000'000'000ull;

}  // namespace hostflow::exporter
