// Profile `platform`: the Platform-Agnostic Metrics Exporter's node_* families (seed 003,
// cougz/metrics-exporters as its README documents them: node_memory_{usage,free,available,
// total}_bytes, node_filesystem_{usage,avail,size}_bytes{device,mountpoint,fstype},
// node_processes_total; labels host_name, container_id, instance = host_name:container_id), from
// the platform area's hostflow_platform_* families: one set for the machine the sampler runs on
// and one per LXC container on it (what the seed, run inside that container, reports).
// docs/compat.md#platform. hostflow-exporter, poll thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "compat/profile.h"

namespace hostflow::exporter {

std::unique_ptr<Profile> make_platform_profile(const ExporterConfig& cfg);

// The seed's extract_container_id() (utils/container.py) where hostflow has its inputs: the
// digits of "subvol-<digits>-disk-<digits>" in the root filesystem's device (df /), else the
// first run of digits in the host name when it has at least 3, else "unknown". (Its middle
// rule, "/lxc/<digits>" in /proc/self/cgroup, describes the seed's own process.) Pure.
std::string platform_seed_container_id(std::string_view root_device, std::string_view hostname);

}  // namespace hostflow::exporter
