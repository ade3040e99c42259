#include "compat/registry.h"

#include "compat/netprobe/netprobe_profile.h"
#include "compat/oie/oie_profile.h"
#include "compat/platform/platform_profile.h"
#include "compat/traffic/traffic_profile.h"
#include "compat/truenas/truenas_profile.h"

namespace hostflow::exporter {

std::span<const ProfileRow> profile_table() {
  // stem (--compat), replaced tool, metric prefixes, docs/compat.md anchor, factory.
  static const ProfileRow kProfiles[] = {
      {"truenas", "TrueNAS network exporter (seed 004)", "net_interface_", "truenas",
       &make_truenas_profile},
      {"netprobe", "NetProbe Metrics Exporter (seed 001)", "netprobe_", "netprobe",
       &make_netprobe_profile},
      {"traffic", "Traffic Exporter (seed 000)", "haproxy_sni_ qemu_network_", "traffic",
       &make_traffic_profile},
      {"oie", "OpenStack Instance Exporter (seed 002)", "oie_", "oie", &make_oie_profile},
      {"platform", "Platform-Agnostic Metrics Exporter (seed 003)",
       "node_memory_usage_bytes node_memory_free_bytes node_memory_available_bytes "
       "node_memory_total_bytes node_filesystem_usage_bytes node_filesystem_avail_bytes "
       "node_filesystem_size_bytes node_processes_total",
       "platform", &make_platform_profile},
  };
  return kProfiles;
}

const ProfileRow* find_profile(std::string_view stem) {
  for (const ProfileRow& row : profile_table())
    if (row.stem == stem) return &row;
  return nullptr;
}

}  // namespace hostflow::exporter
